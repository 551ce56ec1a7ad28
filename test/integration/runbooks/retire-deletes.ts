import { DeleteCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

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
