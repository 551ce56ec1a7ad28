/** A table's name, or a function that gives it when called (the sandbox resolves names late). */
export type TableName = string | (() => string);

/** The name of `name` now. */
export const resolveTableName = (name: TableName): string => (typeof name === 'string' ? name : name());
