import '../../lib/sandbox/polyfills.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readinessNames } from '../../cdk/constructs/readiness.ts';
import { GLOBAL_REGION } from '../../cdk/naming.ts';
import { awsReadClients } from '../../functions/shared/aws-read-clients.ts';
import { awsAdminControl } from '../../lib/ops/admin-control.ts';
import { awsReadiness, awsStatus } from '../../lib/ops/aws-status.ts';
import { UsageError } from '../../lib/ops/errors.ts';
import type { Runbook } from '../../lib/ops/ports.ts';
import { stateFilePath } from '../../lib/sandbox/control/state-file.ts';
import { cliTopology, loadCliApplication } from './application.ts';
import { awsExecutions, sfnClients } from './aws-target.ts';
import { serveConsole } from './console.ts';
import { capacityCommand, costCommand, type TrafficFlags, trafficOptions } from './cost.ts';
import { type InitFlags, initLines, initProject } from './init.ts';
import { chaosRequest, drillRegionLoss, drillRestore, readiness, resolveRequest } from './inspect.ts';
import { type PlanFlags, planCommand } from './plan.ts';
import { reportCommand } from './report.ts';
import { type RunbookFlags, type RunbookOutcome, runRunbook } from './runbook.ts';
import { parseConflictPolicy, sandboxUp, startDemo, type UpOptions } from './sandbox.ts';
import { callSandbox, upSandbox } from './sandbox-target.ts';

/** Exit codes, as documented in the README. */
export const EXIT = { done: 0, failed: 1, usage: 2, unreachable: 3 } as const;

const ROOT = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};
const partitionList = (value: string) =>
  value.split(',').map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError('partitions are numbers, e.g. 1,2,17');
    return n;
  });
const regionList = (value: string) => value.split(',').filter(Boolean);

/** What a command's action returns: the JSON document, the human lines and the exit code. */
interface Outcome {
  readonly json: unknown;
  readonly lines?: readonly string[];
  readonly code: number;
}

let exitCode: number = EXIT.done;

/** The exit code the last action asked for. */
export function lastExitCode(): number {
  return exitCode;
}

function emit(cmd: Command, outcome: Outcome): void {
  const { json } = cmd.optsWithGlobals<{ json?: boolean }>();
  if (json) console.log(JSON.stringify(outcome.json, null, 2));
  else for (const line of outcome.lines ?? [JSON.stringify(outcome.json, null, 2)]) console.log(line);
  exitCode = outcome.code;
}

const action =
  <A extends unknown[]>(run: (cmd: Command, ...args: A) => Promise<Outcome>) =>
  async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    emit(cmd, await run(cmd, ...(args.slice(0, -2) as A)));
  };

function upOptions(cmd: Command): Command {
  return cmd
    .option('--once', 'exit after the demo / a consistency check (exit code = verdict)')
    .option('--fast', 'compress every timer (health checks, waits, WAN latency)')
    .option('--env <env>', "the application's environment whose topology the sandbox runs", 'dev')
    .addOption(
      new Option(
        '--regions <n>',
        "how many of the environment's regions to run, in its order (default: all)",
      ).argParser(int('--regions')),
    )
    .addOption(
      new Option('--mode <mode>', 'front door mode').choices(['redirect', 'proxy']).default('redirect'),
    )
    .addOption(
      new Option('--policy <policy>', 'GTM routing policy').choices([
        'latency',
        'weighted',
        'round-robin',
        'least-connections',
      ]),
    )
    .option('--data-dir <dir>', "persist each region's DynamoDB Local under DIR/<region>")
    .option(
      '--conflict-policy <type=policy>',
      "override an aggregate type's conflict policy (repeatable), e.g. profile=manual",
      parseConflictPolicy,
    );
}

/** At least two regions; the upper bound is the environment's (the sandbox checks it, naming the environment). */
function checkRegions(n: number | undefined): void {
  if (n !== undefined && n < 2) throw new UsageError('--regions must be at least 2');
}

const simple = async (
  request: Parameters<typeof callSandbox>[0],
  ok: (body: unknown) => boolean = () => true,
): Promise<Outcome> => {
  const body = await callSandbox(request);
  return { json: body, code: ok(body) ? EXIT.done : EXIT.failed };
};

/**
 * Stops the sandbox that is up and returns once it has stopped (its state file removed), so that the next
 * command (`drill`, `sandbox up`) does not find a sandbox that is still going away.
 */
async function sandboxDown(timeoutMs = 120_000): Promise<Outcome> {
  await callSandbox({ action: 'down' });
  const deadline = Date.now() + timeoutMs;
  while (existsSync(stateFilePath()) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 250));
  const stopped = !existsSync(stateFilePath());
  return {
    json: { stopped },
    lines: [stopped ? 'sandbox stopped' : `the sandbox did not stop within ${timeoutMs / 1000} s`],
    code: stopped ? EXIT.done : EXIT.failed,
  };
}

const reportLine = (dir: string) => `report: ${join(dir, 'report.md')}, report.json, report.html`;

/** A runbook's outcome: the summary lines, the JSON document, exit 0 only when it SUCCEEDED. */
function runbookOutcome(name: Runbook, outcome: RunbookOutcome): Outcome {
  const execution = outcome.progress?.execution;
  const status = execution?.status;
  const lines = execution
    ? [
        `${name} ${status}${execution.error ? ` (${execution.error}: ${execution.cause ?? ''})` : ''}`,
        `execution ${outcome.executionArn}`,
      ]
    : [];
  if (outcome.report) lines.push(reportLine(outcome.report.dir));
  return {
    json: {
      plan: outcome.plan,
      executionArn: outcome.executionArn,
      existing: outcome.existing,
      status,
      steps: outcome.progress?.steps,
      output: execution?.output,
      error: execution?.error,
      ...(outcome.report ? { reportDir: outcome.report.dir } : {}),
    },
    lines,
    code: !execution || status === 'SUCCEEDED' ? EXIT.done : EXIT.failed,
  };
}

/** AWS clients for a deployed environment, with the operator's credentials. */
function awsClients(env: string) {
  return awsReadClients(awsExecutions(cliTopology(env), sfnClients()), GLOBAL_REGION);
}

/** The whole command tree. Exported for tests (`--help` of every command). */
export function buildProgram(): Command {
  const program = new Command('multiactive')
    .description('Operate a multiactive deployment: the local sandbox, or a deployed environment with --env')
    .version(version, '-V, --version')
    .option('--json', 'print one JSON document on stdout (progress stays on stderr)')
    .option('--verbose', 'print stack traces of errors')
    .option(
      '--config <file>',
      'the application config (default: $MULTIACTIVE_CONFIG, else ./multiactive.config.ts)',
    )
    .hook('preAction', (command) => loadCliApplication(command.opts<{ config?: string }>().config))
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the outcome failed, 2 usage, 3 target unreachable (plan: 0 no impact, 1 approval needed, 2 refused).',
    );

  program
    .command('init')
    .description('scaffold a new project: its config, one aggregate per tier with tests, dev/prod topologies')
    .argument('<dir>', 'the project directory: new, or empty (a non-empty one is refused, exit 2)')
    .option('--name <name>', 'the package and application name (default: the directory name)')
    .option(
      '--from <spec>',
      'where the project installs multiactive from, as an npm spec (default: ^<this version>; file:<this checkout> when run from one)',
    )
    .action(
      action(async (cmd, dir: string) => {
        const result = initProject(dir, cmd.opts<InitFlags>());
        return { json: result, lines: initLines(result), code: EXIT.done };
      }),
    );

  upOptions(program.command('start').description('run the demo in a new sandbox, then keep serving')).action(
    async (options: UpOptions) => {
      checkRegions(options.regions);
      exitCode = await startDemo(options);
    },
  );

  const sandbox = program.command('sandbox').description('the local multi-region sandbox');
  upOptions(
    sandbox.command('up').description('start a sandbox and serve its control endpoint and web console'),
  ).action(async (options: UpOptions, cmd: Command) => {
    checkRegions(options.regions);
    exitCode = await sandboxUp({ ...options, json: cmd.optsWithGlobals<{ json?: boolean }>().json === true });
  });
  sandbox
    .command('status')
    .description('regions, links, lag and executions of the sandbox that is up')
    .action(action(() => simple({ action: 'status' })));
  sandbox
    .command('down')
    .description('stop the sandbox that is up')
    .action(action(() => sandboxDown()));

  program
    .command('status')
    .description(
      'per region health, traffic state, lag per link, dead letters, open conflicts, partitions per home',
    )
    .option('--env <env>', 'a deployed environment instead of the sandbox')
    .action(
      action(async (cmd) => {
        const env = cmd.opts<{ env?: string }>().env;
        if (env) {
          const topology = cliTopology(env);
          const status = await awsStatus(topology, awsClients(env), readinessNames(topology));
          return { json: status, code: EXIT.done };
        }
        const [status, map, conflicts] = await Promise.all([
          callSandbox<Record<string, unknown>>({ action: 'status' }),
          callSandbox<{ perHome: Record<string, number>; fenced: number[] }>({ action: 'map' }),
          callSandbox<{ open: unknown[] }>({ action: 'conflicts-list' }),
        ]);
        return {
          json: {
            ...status,
            partitionsPerHome: map.perHome,
            fenced: map.fenced,
            openConflicts: conflicts.open.length,
          },
          code: EXIT.done,
        };
      }),
    );

  program
    .command('readiness')
    .description('evaluate whether a failover would succeed now; exit 1 when not ready')
    .option('--env <env>', 'a deployed environment instead of the sandbox')
    .action(
      action(async (cmd) => {
        const env = cmd.opts<{ env?: string }>().env;
        const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
        const { report, lines } = await readiness(
          json,
          env
            ? () => {
                const topology = cliTopology(env);
                return awsReadiness(topology, awsClients(env), readinessNames(topology));
              }
            : undefined,
        );
        return { json: report, lines, code: report.ready ? EXIT.done : EXIT.failed };
      }),
    );

  program
    .command('check')
    .description("compare every region's events and state rows (exit 1 when they differ)")
    .action(action(() => simple({ action: 'check' }, (b) => (b as { passed?: boolean }).passed === true)));

  const chaos = program.command('chaos').description('inject faults into the sandbox');
  chaos
    .command('kill-region')
    .argument('<region>')
    .description('kill a region (API, poller, heartbeats, WAN)')
    .action(action((_c, r: string) => simple(chaosRequest('kill-region', [r]))));
  chaos
    .command('revive-region')
    .argument('<region>')
    .description('bring a killed region back')
    .action(action((_c, r: string) => simple(chaosRequest('revive-region', [r]))));
  chaos
    .command('partition')
    .argument('<a>')
    .argument('<b>')
    .description('cut the link between two regions')
    .action(action((_c, a: string, b: string) => simple(chaosRequest('partition', [a, b]))));
  chaos
    .command('latency')
    .argument('<a>')
    .argument('<b>')
    .argument('<ms>')
    .description('one-way latency of a link')
    .action(action((_c, a: string, b: string, ms: string) => simple(chaosRequest('latency', [a, b, ms]))));
  chaos
    .command('heal')
    .description('restore every partitioned link')
    .action(action(() => simple({ action: 'heal' })));

  const runbook = program
    .command('runbook')
    .description('run a runbook in the sandbox, or on AWS with --env, and follow it step by step');
  const common = (cmd: Command) =>
    cmd
      .option('--env <env>', 'run the deployed state machine of this environment on AWS')
      .option('--in <region>', 'region whose state machine runs it')
      .option('--dry-run', 'print the plan and stop')
      .option('--yes', 'do not ask for confirmation')
      .option(
        '--execution-name <name>',
        'execution name (default: runbook, input hash and UTC hour: idempotent)',
      )
      .option(
        '--report [dir]',
        'write report.md, report.json and report.html of the execution (default folder: .sandbox/reports/<id>, with --env reports/<id>)',
      );
  const run = (name: Runbook) =>
    action(async (cmd, ...args: unknown[]) => {
      const flags = cmd.optsWithGlobals<RunbookFlags>();
      const positional = typeof args[0] === 'string' ? { region: args[0] } : {};
      return runbookOutcome(name, await runRunbook(name, { ...flags, ...positional }));
    });
  common(
    runbook
      .command('switchover')
      .description('move partitions to another region (fence, catch up, move, unfence)'),
  )
    .option('--partitions <list>', 'partitions to move, e.g. 1,2,17', partitionList)
    .option('--from <region>', 'move every partition homed in this region')
    .requiredOption('--to <region>', 'the new home')
    .option('--reason <text>', 'why (kept in the execution input)')
    .action(run('Switchover'));
  common(
    runbook
      .command('failover')
      .argument('<region>', 'the lost region')
      .description("move a lost region's partitions to the nearest survivors and drain it"),
  )
    .option('--reason <text>', 'why (kept in the execution input)')
    .action(run('Failover'));
  common(
    runbook
      .command('failback')
      .argument('<region>', 'the returning region')
      .description('catch up, reconcile orphans, switch partitions back, undrain'),
  )
    .option('--no-switch-back', 'leave the partitions where the failover put them')
    .action(run('Failback'));
  common(runbook.command('repair').description('Merkle repair of every partition (or some) across regions'))
    .option('--partitions <list>', 'only these partitions', partitionList)
    .option('--peers <regions>', 'only these regions, e.g. us-east-1,eu-west-1', regionList)
    .action(run('Repair'));

  program
    .command('report')
    .argument('<executionArn>', 'a runbook execution (arn:aws:states:<region>:<account>:execution:...)')
    .description(
      'write report.md, report.json and report.html of an execution from its history (sandbox, or AWS with --env)',
    )
    .option('--env <env>', 'read the execution from Step Functions in this deployed environment')
    .option('--out <dir>', 'report folder (default .sandbox/reports/<id>, with --env reports/<id>)')
    .action(
      action(async (cmd, executionArn: string) => {
        const { env, out } = cmd.opts<{ env?: string; out?: string }>();
        const { dir, report } = await reportCommand(executionArn, { env, out });
        const execution = report.executions[0];
        return {
          json: { dir, report },
          lines: [
            `${execution?.runbook} in ${execution?.region}: ${execution?.status}`,
            reportLine(dir),
            ...report.wentWrong.map((w) => `  went wrong: ${w}`),
          ],
          code: execution?.status === 'SUCCEEDED' ? EXIT.done : EXIT.failed,
        };
      }),
    );

  const conflicts = program.command('conflicts').description('the manual conflict queue');
  conflicts
    .command('list')
    .description('open conflicts of every live region')
    .action(action(() => simple({ action: 'conflicts-list' })));
  conflicts
    .command('resolve')
    .argument('<type>')
    .argument('<id>')
    .description('resolve by keeping one event (--choose) or a merged state (--state)')
    .option('--choose <eventId>', 'keep this branch')
    .option('--state <json>', 'the merged state')
    .option('--in <region>', 'region whose ResolveConflict runs')
    .action(
      action((cmd, type: string, id: string) =>
        simple(
          resolveRequest(type, id, cmd.opts()),
          (b) => (b as { status?: string }).status === 'SUCCEEDED',
        ),
      ),
    );

  program
    .command('console')
    .description(
      "the web console: the sandbox's URL, or with --env serve it here for a deployed environment (your AWS credentials)",
    )
    .option('--env <env>', 'a deployed environment: serve the console on loopback, reading AWS')
    .addOption(new Option('--port <n>', 'port to serve on (default: any free port)').argParser(int('--port')))
    .action(async (options: { env?: string; port?: number }, cmd: Command) => {
      if (!options.env) {
        const { consoleUrl } = upSandbox();
        return emit(cmd, { json: { url: consoleUrl }, lines: [`console: ${consoleUrl}`], code: EXIT.done });
      }
      const topology = cliTopology(options.env);
      const control = awsAdminControl({
        topology,
        clients: awsClients(options.env),
        names: readinessNames(topology),
      });
      const { url } = await serveConsole(control, options.port);
      emit(cmd, {
        json: { url, env: options.env },
        lines: [
          `console for ${options.env}: ${url}  (reads and starts with your AWS credentials; Ctrl-C to stop)`,
        ],
        code: EXIT.done,
      });
      await new Promise<never>(() => {});
    });

  trafficOptions(
    program
      .command('cost')
      .description(
        'monthly AWS cost of an environment under a traffic profile: per service, region and tier, next to global tables and single-region, with advice per aggregate type',
      ),
  )
    .option('--prices <file>', 'prices over the shipped list (same shape, any subset)')
    .action(
      action(async (cmd) => {
        const { report, lines } = await costCommand(cmd.opts<TrafficFlags>());
        return { json: report, lines, code: EXIT.done };
      }),
    );
  trafficOptions(
    program
      .command('capacity')
      .description(
        'per region, the write rate at which each AWS limit binds (the profile scaled), and what to raise',
      ),
  ).action(
    action(async (cmd) => {
      const { regions, lines } = await capacityCommand(cmd.opts<TrafficFlags>());
      return { json: regions, lines, code: EXIT.done };
    }),
  );

  trafficOptions(
    program
      .command('plan')
      .description(
        "impact of the working tree's topology against a git ref, in Markdown: tiers, consistency, RPO/RTO, data that must move, cost delta, runbooks in order (exit 0 no impact, 1 approval needed, 2 refused)",
      ),
  )
    .option('--against <ref>', 'the git ref to compare with', 'main')
    .option(
      '--migration <plan>',
      'a migration plan for data that must move (a partition-count or hash change)',
    )
    .option('--prices <file>', 'prices over the shipped list (same shape, any subset)')
    .action(
      action(async (cmd) => {
        const { impact, lines } = await planCommand(cmd.opts<PlanFlags>());
        return { json: impact, lines, code: impact.exitCode };
      }),
    );

  const drill = program.command('drill').description('scripted game days with a report');
  drill
    .command('region-loss')
    .description(
      'load, kill a region, failover, revive, failback, repair, check; writes report.md/.json/.html',
    )
    .requiredOption('--region <region>', 'the region to lose')
    .option('--out <dir>', 'report folder (default .sandbox/reports/<id>)')
    .option('--phase-ms <ms>', 'length of each load phase', int('--phase-ms'))
    .action(
      action(async (cmd) => {
        const o = cmd.optsWithGlobals<{ region: string; out?: string; phaseMs?: number; json?: boolean }>();
        const { report, dir } = await drillRegionLoss(o);
        const ok =
          report.executions.every((e) => e.status === 'SUCCEEDED') && report.consistency?.passed === true;
        return {
          json: { dir, report },
          lines: [
            `report: ${dir}/report.md, report.json, report.html`,
            ...report.figures.map(
              (f) =>
                `  ${f.figure}: ${f.value} ${f.unit} (target ${f.target}${f.met === null ? '' : f.met ? ', met' : ', NOT met'})`,
            ),
          ],
          code: ok ? EXIT.done : EXIT.failed,
        };
      }),
    );
  drill
    .command('restore')
    .description(
      'restore one region to a point in time, then Repair from its peers, then check (own sandbox)',
    )
    .requiredOption('--region <region>', 'the region whose tables are restored')
    .option('--phase-ms <ms>', 'length of the write phases before and after T', int('--phase-ms'))
    .option('--no-repair', 'skip the Repair runbook (shows what the consistency check finds without it)')
    .action(
      action(async (cmd) => {
        const o = cmd.optsWithGlobals<{
          region: string;
          phaseMs?: number;
          repair?: boolean;
          json?: boolean;
        }>();
        const { report, lines } = await drillRestore(o);
        return { json: report, lines, code: report.passed ? EXIT.done : EXIT.failed };
      }),
    );
  return program;
}
