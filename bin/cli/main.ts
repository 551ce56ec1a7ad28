import '../../lib/sandbox/polyfills.ts';
import { CommanderError } from 'commander';
import { TargetUnreachableError, UsageError } from '../../lib/ops/errors.ts';
import { UnknownSandboxRegionError } from '../../lib/sandbox/errors.ts';
import { buildProgram, EXIT, lastExitCode } from './program.ts';

/** Maps any error to one line (stack only with --verbose) and an exit code. */
function fail(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.done : EXIT.usage;
  const message = error instanceof Error ? error.message : String(error);
  console.error(`multiactive: ${verbose && error instanceof Error ? error.stack : message}`);
  if (error instanceof UsageError || error instanceof UnknownSandboxRegionError) return EXIT.usage;
  if (error instanceof TargetUnreachableError) return EXIT.unreachable;
  const name = (error as Error).name;
  if (name === 'UnknownEnvironmentError' || name === 'ApplicationConfigError' || name === 'ConfigError')
    return EXIT.usage;
  return EXIT.failed;
}

const argv = process.argv.slice(2);
const program = buildProgram();
program.exitOverride();
for (const cmd of program.commands.flatMap((c) => [c, ...c.commands])) cmd.exitOverride();
try {
  await program.parseAsync(argv.length === 0 ? ['start'] : argv, { from: 'user' });
  process.exitCode = lastExitCode();
} catch (error) {
  process.exitCode = fail(error, argv.includes('--verbose'));
}
process.exit(process.exitCode ?? 0);
