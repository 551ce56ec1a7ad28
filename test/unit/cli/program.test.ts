import { type Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, lastExitCode } from '../../../bin/cli/program.ts';

/** Runs the CLI in-process: what it printed on stdout, or the commander error it stopped with. */
async function run(args: string[]): Promise<{ out: string; error?: CommanderError | Error; code: number }> {
  const program = buildProgram();
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out: lines.join('\n'), code: lastExitCode() };
  } catch (error) {
    return { out: lines.join('\n'), error: error as Error, code: -1 };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

const plan = async (args: string[]) => {
  const { out, error } = await run([...args, '--env', 'dev', '--dry-run', '--json']);
  if (error) throw error;
  return (JSON.parse(out) as { plan: { runbook: string; runsIn: string; input: Record<string, unknown> } })
    .plan;
};

afterEach(() => vi.restoreAllMocks());

describe('multiactive command line', () => {
  it('has --help on every command and subcommand, and --version', async () => {
    const program = buildProgram();
    const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
    const commands = all(program);
    expect(commands.map((c) => c.name())).toEqual(
      expect.arrayContaining([
        'start',
        'up',
        'status',
        'down',
        'readiness',
        'check',
        'kill-region',
        'switchover',
        'failover',
        'failback',
        'repair',
        'list',
        'resolve',
        'region-loss',
        'restore',
        'report',
      ]),
    );
    for (const command of commands) {
      const result = await run([...(command.name() === 'multiactive' ? [] : pathOf(command)), '--help']);
      expect(result.error).toBeInstanceOf(CommanderError);
      expect((result.error as CommanderError).code).toBe('commander.helpDisplayed');
      expect(command.helpInformation()).toContain('--help');
    }
    const version = await run(['--version']);
    expect((version.error as CommanderError).code).toBe('commander.version');
  });

  it('rejects unknown flags and arguments instead of ignoring them', async () => {
    for (const args of [
      ['runbook', 'repair', '--partition', '17'],
      ['runbook', 'failover'],
      ['runbook', 'switchover', '--partitions', '1,x', '--to', 'eu-west-1'],
      ['sandbox', 'up', '--mode', 'tunnel'],
      ['chaos', 'kill-region'],
      ['check', 'extra'],
      ['drill', 'restore'],
      ['drill', 'restore', '--region', 'eu-west-1', '--phase-ms', 'soon'],
    ]) {
      const { error } = await run(args);
      expect(error, args.join(' ')).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).exitCode).not.toBe(0);
    }
  });

  it('reaches every runbook option the state machines accept', async () => {
    expect(
      await plan([
        'runbook',
        'switchover',
        '--partitions',
        '1,2',
        '--to',
        'eu-west-1',
        '--reason',
        'maintenance',
      ]),
    ).toMatchObject({
      runbook: 'Switchover',
      runsIn: 'eu-west-1',
      input: { partitions: [1, 2], to: 'eu-west-1', reason: 'maintenance' },
    });
    expect(
      await plan([
        'runbook',
        'switchover',
        '--from',
        'us-east-1',
        '--to',
        'eu-west-1',
        '--in',
        'ap-southeast-1',
      ]),
    ).toMatchObject({
      runsIn: 'ap-southeast-1',
      input: { from: 'us-east-1', to: 'eu-west-1' },
    });
    expect(
      await plan(['runbook', 'repair', '--partitions', '17', '--peers', 'us-east-1,eu-west-1']),
    ).toMatchObject({
      runbook: 'Repair',
      input: { partitions: [17], peers: ['us-east-1', 'eu-west-1'] },
    });
    expect(await plan(['runbook', 'failover', 'us-east-1', '--reason', 'drill'])).toMatchObject({
      runsIn: 'eu-west-1',
      input: { region: 'us-east-1', trigger: 'operator', reason: 'drill' },
    });
    expect((await plan(['runbook', 'failback', 'us-east-1', '--no-switch-back'])).input).toEqual({
      region: 'us-east-1',
      switchBack: false,
    });
    expect((await plan(['runbook', 'failback', 'us-east-1'])).input).toEqual({
      region: 'us-east-1',
      switchBack: true,
    });
    await expect(plan(['runbook', 'failover', 'mars-north-1'])).rejects.toThrow(
      /unknown region "mars-north-1"/,
    );
  });

  it('takes --report with or without a folder, and `report` checks its execution ARN', async () => {
    expect((await plan(['runbook', 'repair', '--report'])).runbook).toBe('Repair');
    expect((await plan(['runbook', 'repair', '--report', 'out/drill-7'])).runbook).toBe('Repair');
    const wrong = await run(['report', 'arn:aws:states:us-east-1:1:stateMachine:x', '--env', 'prod']);
    expect(wrong.error?.name).toBe('UsageError');
    expect(wrong.error?.message).toMatch(/not a Step Functions execution ARN/);
    const missing = await run(['report']);
    expect((missing.error as CommanderError).code).toBe('commander.missingArgument');
  });
});

function pathOf(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}
