import type { StackEnvironment } from './intrinsics.ts';
import type { CfnTemplate, StackTemplates } from './templates.ts';

/** The region hosting the global pieces (Route 53 alarms and their rules), as in GlobalStack. */
export const GLOBAL_REGION = 'us-east-1';

/** One synthesized stack and where it is deployed. */
export interface DeployedTemplate {
  readonly template: CfnTemplate;
  readonly env: StackEnvironment;
}

/** Every stack of an environment, as cdk/stacks/environment.ts names them (foundations, cells, global). */
export function environmentStackNames(env: string, regions: readonly string[]): string[] {
  return [
    ...regions.map((r) => `multiactive-${env}-${r}-foundation`),
    ...regions.map((r) => `multiactive-${env}-${r}`),
    `multiactive-${env}-global`,
  ];
}

/** Where each stack is deployed: a foundation or a cell in its region, the global stack in us-east-1. */
export function deployedTemplatesOf(
  env: string,
  account: string,
  templates: StackTemplates,
): DeployedTemplate[] {
  return Object.entries(templates).map(([name, template]) => {
    const scope = name.slice(`multiactive-${env}-`.length).replace(/-foundation$/, '');
    return {
      template,
      env: { region: scope === 'global' ? GLOBAL_REGION : scope, account, stackName: name },
    };
  });
}
