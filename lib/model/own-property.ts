/**
 * A record's own entry for a name that came from outside (a request, an event, a state machine input),
 * or undefined. `record[name]` alone would also find what every object inherits: `constructor`,
 * `toString` or `__proto__` as a command type would reach Object.prototype instead of "unknown".
 * @example const schema = ownEntry(aggregate.commands, body.type); if (!schema) throw new UnknownCommandError(...);
 */
export function ownEntry<V>(record: Readonly<Record<string, V>>, name: string): V | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
