import { resourcesOfType, type StackEnvironment } from '../cdk/intrinsics.ts';
import type { CfnTemplate } from '../cdk/templates.ts';

/** One ASL state (the fields the sandbox looks at). */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ItemProcessor?: { readonly States: Record<string, AslState> };
  readonly Iterator?: { readonly States: Record<string, AslState> };
  readonly Branches?: ReadonlyArray<{ readonly States: Record<string, AslState> }>;
  readonly [key: string]: unknown;
}

/** An ASL definition. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly [key: string]: unknown;
}

/** A state machine of a synthesized template, its DefinitionString resolved to plain ASL. */
export interface StateMachineSpec {
  readonly name: string;
  readonly arn: string;
  readonly region: string;
  readonly definition: AslDefinition;
}

/** Every AWS::StepFunctions::StateMachine of a template, with Fn::Join/GetAtt/Ref resolved to ARNs. */
export function stateMachinesOf(template: CfnTemplate, env: StackEnvironment): StateMachineSpec[] {
  return resourcesOfType(template, 'AWS::StepFunctions::StateMachine', env).map(
    ({ logicalId, properties }) => {
      const name = typeof properties.StateMachineName === 'string' ? properties.StateMachineName : logicalId;
      const body = properties.DefinitionString ?? JSON.stringify(properties.Definition);
      return {
        name,
        arn: `arn:aws:states:${env.region}:${env.account}:stateMachine:${name}`,
        region: env.region,
        definition: JSON.parse(String(body)) as AslDefinition,
      };
    },
  );
}

/** Every state of a definition by name, those inside Map and Parallel states included. */
export function allStates(definition: { States: Record<string, AslState> }): Record<string, AslState> {
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    states[name] = state;
    for (const inner of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (inner) Object.assign(states, allStates(inner));
    }
  }
  return states;
}
