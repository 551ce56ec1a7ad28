/** A bug switch name that does not exist. */
export class UnknownBugSwitchError extends Error {
  override readonly name = 'UnknownBugSwitchError';
  readonly known: readonly string[];

  constructor(switchName: string, known: readonly string[], options?: ErrorOptions) {
    super(`unknown bug switch "${switchName}" (known: ${known.join(', ')})`, options);
    this.known = known;
  }
}
