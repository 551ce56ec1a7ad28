/**
 * ResolveConflict (an operator settles a `manual` conflict).
 *
 * Execution input: `{ "conflictId": "...", "resolution": { ... }, "resolvedBy": "alice@example.com" }`.
 * Every task invokes the runbook function with `{ runbook: 'resolve-conflict', task, input }` and its
 * result is kept at `$.<task>` (camelCase), see `runbookTask`.
 * Shape: LoadConflict (the conflict record and every head it names) -> AppendResolution (an event
 * naming all those heads, replicated like any other) -> ConflictResolved; failures end in
 * ResolveConflictFailed, and the conflict stays open.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RunbookDefinitionProps } from './runbook-definition.ts';
import { catchInto, runbookTask } from './runbook-task.ts';

export function resolveConflictDefinition(scope: Construct, { fn }: RunbookDefinitionProps): sfn.IChainable {
  const load = runbookTask(scope, { runbook: 'ResolveConflict', task: 'LoadConflict', fn });
  const append = runbookTask(scope, { runbook: 'ResolveConflict', task: 'AppendResolution', fn });
  const failed = new sfn.Fail(scope, 'ResolveConflictFailed', {
    error: 'ResolveConflictFailed',
    cause: 'The conflict could not be resolved and stays open in the manual queue. See $.error.',
  });
  catchInto(failed, load, append);
  return load.next(append).next(new sfn.Succeed(scope, 'ConflictResolved'));
}
