/**
 * Resolves a synthesized `DefinitionString` (an `Fn::Join` with `Fn::GetAtt`/`Ref` tokens) into the
 * plain ASL JSON Step Functions would see, with placeholder ARNs for the tokens.
 */
type Intrinsic =
  | string
  | { 'Fn::Join'?: [string, Intrinsic[]]; 'Fn::GetAtt'?: [string, string]; Ref?: string };

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '111111111111',
  'AWS::URLSuffix': 'amazonaws.com',
};

function placeholderArn(logicalId: string): string {
  return `arn:aws:lambda:us-east-1:111111111111:function:${logicalId}`;
}

export function resolveIntrinsic(value: Intrinsic): string {
  if (typeof value === 'string') return value;
  if (value['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return parts.map(resolveIntrinsic).join(separator);
  }
  if (value['Fn::GetAtt']) return placeholderArn(value['Fn::GetAtt'][0]);
  if (value.Ref) return PSEUDO[value.Ref] ?? placeholderArn(value.Ref);
  throw new Error(`unsupported intrinsic ${JSON.stringify(value)}`);
}

export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  TimeoutSeconds?: number;
  MaxConcurrency?: number;
  ItemProcessor?: { States: Record<string, AslState> };
  Branches?: Array<{ States: Record<string, AslState> }>;
  Choices?: unknown[];
  Default?: string;
  Cause?: string;
  Error?: string;
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

export function resolveDefinition(definitionString: Intrinsic): AslDefinition {
  return JSON.parse(resolveIntrinsic(definitionString)) as AslDefinition;
}

/** Every state, including those inside Map item processors and Parallel branches. */
export function allStates(definition: { States: Record<string, AslState> }): Record<string, AslState> {
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    states[name] = state;
    for (const inner of [state.ItemProcessor, ...(state.Branches ?? [])])
      if (inner) Object.assign(states, allStates(inner));
  }
  return states;
}
