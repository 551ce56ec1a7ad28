import { DeleteCommand, type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { account } from '../../../examples/bank/index.ts';
import { retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import type { Cell } from '../replication/cells.ts';

/**
 * True for a command that deletes from a log: a plain DeleteCommand (a retire with the switch
 * `retire-one-event-at-a-time`) or a TransactWriteCommand with a Delete item (a retire's atomic step).
 * Tests racing a retire trigger on it, so that they race the retire whichever way it deletes.
 */
export function deletes(command: unknown): boolean {
  if (command instanceof DeleteCommand) return true;
  return (
    command instanceof TransactWriteCommand &&
    (command.input.TransactItems ?? []).some((item) => item.Delete !== undefined)
  );
}

/**
 * `client`, except that the first command deleting from a log (see `deletes`) runs `race` once:
 * `after` the delete returned (a writer landing between the retire's chunks or after its last one), or
 * `before` it is sent (a writer landing between the retire's read and its first delete).
 */
export function racingOnDelete(
  client: DynamoDBDocumentClient,
  race: () => Promise<unknown>,
  order: 'before' | 'after' = 'after',
): DynamoDBDocumentClient {
  let raced = false;
  return new Proxy(client, {
    get(target, key, receiver) {
      if (key !== 'send') return Reflect.get(target, key, receiver);
      return async (command: unknown) => {
        const fire = deletes(command) && !raced;
        if (fire) raced = true;
        if (fire && order === 'before') await race();
        const out = await (target.send as (c: unknown) => Promise<unknown>)(command);
        if (fire && order === 'after') await race();
        return out;
      };
    },
  }) as DynamoDBDocumentClient;
}

/**
 * Retires the account branch `losing` in `cell` (a fork settled onto `winning`, records into every cell's
 * queue), its log deletes racing `race` as `racingOnDelete` does.
 */
export async function retireRacing(
  cell: Cell,
  cells: readonly Cell[],
  branches: { readonly losing: readonly EventEnvelope[]; readonly winning: readonly EventEnvelope[] },
  race: () => Promise<unknown>,
  order: 'before' | 'after' = 'after',
): Promise<void> {
  await retireCoreBranch({
    cell: {
      region: cell.region,
      events: cell.events,
      states: cell.states,
      tables: { client: racingOnDelete(cell.db.doc, race, order), events: cell.db.tables.events },
    },
    queues: cells.map((x) => x.conflicts),
    aggregate: account,
    losing: branches.losing,
    winning: branches.winning,
    reason: 'fork',
  });
}
