/** One problem found in a configuration, named by its path (e.g. `regions[2].name`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** A configuration failed validation; `issues` lists every problem, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const lines = issues.map((issue) => `  ${issue.path || '(root)'}: ${issue.message}`);
    super(`invalid configuration ${source}:\n${lines.join('\n')}`, options);
    this.issues = issues;
  }
}

/** Asked for an environment the application does not define. */
export class UnknownEnvironmentError extends Error {
  override readonly name = 'UnknownEnvironmentError';
  readonly known: readonly string[];

  constructor(env: string, known: readonly string[], source = 'the application') {
    super(
      `unknown environment "${env}"; known environments: ${known.join(', ')}` +
        ` (a new one is an entry of \`environments\` in ${source})`,
    );
    this.known = known;
  }
}
