/** Base class of the sandbox runtime's errors (the plumbing subfolders have their own). */
export class SandboxError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SandboxError';
  }
}

/** A region name the sandbox was not started with. */
export class UnknownSandboxRegionError extends SandboxError {
  readonly region: string;
  readonly known: readonly string[];

  constructor(region: string, known: readonly string[]) {
    super(`unknown region "${region}"; the sandbox runs ${known.join(', ')}`);
    this.name = 'UnknownSandboxRegionError';
    this.region = region;
    this.known = known;
  }
}

/** A template resource the sandbox cannot translate (an intrinsic it does not know, a missing resource). */
export class TemplateTranslationError extends SandboxError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateTranslationError';
  }
}

/** A Lambda task or rule target named a function the sandbox has no local handler for. */
export class NoLocalHandlerError extends SandboxError {
  readonly functionName: string;

  constructor(functionName: string, region: string) {
    super(`no local handler for function ${functionName} in ${region}`);
    this.name = 'NoLocalHandlerError';
    this.functionName = functionName;
  }
}

/** StartExecution with a name already used (by a finished execution, or with another input). */
export class ExecutionAlreadyExistsError extends SandboxError {
  override readonly name = 'ExecutionAlreadyExists';
  constructor(readonly executionArn: string) {
    super(`execution ${executionArn} already exists`);
  }
}

/** DescribeExecution / GetExecutionHistory of an ARN this sandbox never started. */
export class UnknownExecutionError extends SandboxError {
  override readonly name = 'ExecutionDoesNotExist';
  constructor(readonly executionArn: string) {
    super(`no execution ${executionArn} in this sandbox`);
  }
}

/** The demo or the chaos runner has no workload for the application (no plug-in, not the bank's types). */
export class NoWorkloadError extends SandboxError {
  readonly application: string;

  constructor(input: { application: string; tool: 'demo' | 'chaos'; missing: readonly string[] }) {
    const field = input.tool === 'demo' ? 'demo' : 'chaos';
    super(
      `the ${input.tool === 'demo' ? 'demo' : 'chaos runner'} has no workload for application "${input.application}": ` +
        `its built-in one is the example bank's and needs the aggregate types ${input.missing.join(', ')}; ` +
        `give the application its own with defineApp({ ..., ${field} }) (see examples/social)`,
    );
    this.name = 'NoWorkloadError';
    this.application = input.application;
  }
}
