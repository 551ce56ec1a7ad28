/**
 * The CDK app of this checkout: `npx cdk synth|deploy -c env=<name>` (default `dev`) deploys one
 * environment of the application that `multiactive.config.ts` defines (`-c config=<file>` or
 * MULTIACTIVE_CONFIG names another) with one `MultiActiveApp`. A team's own CDK app does the same beside
 * its own stacks (README, "Bring your own application"). Needs no AWS credentials to synthesize.
 *
 * Finding things in cdk.out (the sandbox reads the state machines from there):
 * - templates: `cdk.out/multiactive-<env>-<region>.template.json`, `multiactive-<env>-<region>-foundation`
 *   and `multiactive-<env>-global.template.json` (MultiActiveApp creates its stacks in the App);
 * - state machines: resources of type `AWS::StepFunctions::StateMachine` whose `StateMachineName` is
 *   `multiactive-<env>-<Runbook>` (Switchover, Failover, Failback, Repair, ResolveConflict); their logical
 *   ids start with `Runbooks<Runbook>` followed by a hash. `DefinitionString` is an `Fn::Join` whose
 *   only tokens are the runbook function's ARN (`Fn::GetAtt [FunctionsrunbookFunction..., Arn]`).
 *   Task states use `payloadResponseOnly`: their Resource is that ARN itself, so a local handler gets
 *   `{ runbook, task, input }` and returns the task result directly (no `{ Payload }` envelope).
 * cdk-nag (AwsSolutions and Serverless packs) runs on every synth; `-c nag=false` skips it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ApplicationConfigError, CONFIG_FILE, loadApplication } from '../../lib/app/index.ts';
import { ConfigError, UnknownEnvironmentError } from '../../lib/config/index.ts';
import { MultiActiveApp } from '../multi-active-app.ts';

const app = new App();
const env = String(app.node.tryGetContext('env') ?? 'dev');
const config = String(app.node.tryGetContext('config') ?? process.env.MULTIACTIVE_CONFIG ?? CONFIG_FILE);

try {
  new MultiActiveApp(app, 'MultiActive', { application: await loadApplication(config), environment: env });
} catch (error) {
  if (error instanceof UnknownEnvironmentError) {
    console.error(`${error.message}\nPass one with: npx cdk synth -c env=<${error.known.join('|')}>`);
    process.exit(1);
  }
  if (error instanceof ApplicationConfigError || error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

if (app.node.tryGetContext('nag') !== 'false' && app.node.tryGetContext('nag') !== false) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
app.synth();
