import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export interface RunbookDefinitionProps {
  /** This region's runbook function: every task of every runbook invokes it (it dispatches on `task`). */
  readonly fn: lambda.IFunction;
}

/** Builds a runbook's states inside `scope` and returns its start state. */
export type RunbookDefinition = (scope: Construct, props: RunbookDefinitionProps) => sfn.IChainable;
