/**
 * What one replicated event costs the machine in the sandbox, robust to a busy host (wall-clock latencies
 * are not): CPU time of this Node process (every region's functions, buses, WAN links and pollers) and of
 * each region's DynamoDB Local JVM, and the AWS requests made, per caller and operation, all divided by
 * the events applied in the window. They explain the sandbox bench's p99: on two cores, queueing on a
 * saturated CPU is what makes its tail.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { CallUsageRow } from '../lib/sandbox/iam/usage.ts';
import { type Figure, round } from './report.ts';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU milliseconds (user + system) a process has used, from /proc; undefined if it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), which ends with the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** The pid of the JVM listening on `port` (DynamoDB Local is started with `-port <port>`). */
export function dynamoLocalPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('-port');
      if (args[0]?.endsWith('java') && at >= 0 && args[at + 1] === String(port)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** A region as the measure needs it: its name and its DynamoDB Local endpoint. */
export interface CostRegion {
  readonly name: string;
  readonly endpoint: string;
}

/** Starts a measure; `stop(applied)` returns the per-event figures over the window. */
export function pipelineCost(
  regions: readonly CostRegion[],
  usage: () => readonly CallUsageRow[],
): { stop: (applied: number) => Figure[] } {
  const jvms = regions.map((r) => ({
    region: r.name,
    pid: dynamoLocalPid(Number(new URL(r.endpoint).port)),
  }));
  const jvmBefore = jvms.map((j) => (j.pid === undefined ? undefined : processCpuMs(j.pid)));
  const nodeBefore = process.cpuUsage();
  const usageBefore = usage();
  return {
    stop(applied) {
      const node = process.cpuUsage(nodeBefore);
      const per = (n: number) => n / Math.max(1, applied);
      const figures: Figure[] = [
        {
          figure: `cost: Node CPU per applied event (the sandbox process, every region; ${applied} applied)`,
          value: round(per((node.user + node.system) / 1000), 2),
          unit: `ms (user ${round(per(node.user / 1000), 2)}, system ${round(per(node.system / 1000), 2)})`,
          target: 'reference',
          met: null,
        },
      ];
      jvms.forEach((jvm, i) => {
        const before = jvmBefore[i];
        const after = jvm.pid === undefined ? undefined : processCpuMs(jvm.pid);
        if (before === undefined || after === undefined) return;
        figures.push({
          figure: `cost: DynamoDB Local JVM CPU per applied event (${jvm.region})`,
          value: round(per(after - before), 2),
          unit: 'ms',
          target: 'reference',
          met: null,
        });
      });
      figures.push(...requestFigures(usageBefore, usage(), applied));
      return figures;
    },
  };
}

/** `us-east-1/applier` -> `applier`; rule and state-machine labels keep their kind, lose their region. */
function callerKind(caller: string): string {
  return (
    caller
      .split('/')
      .slice(1)
      .join('/')
      .replace(/^rule\/[^/]+\//, 'rule/') || caller
  );
}

/** DynamoDB requests per applied event, by caller and operation (summed over regions), largest first. */
export function requestFigures(
  before: readonly CallUsageRow[],
  after: readonly CallUsageRow[],
  applied: number,
): Figure[] {
  const key = (r: CallUsageRow) => `${r.service}\u0000${r.caller}\u0000${r.operation}`;
  const earlier = new Map(before.map((r) => [key(r), r.requests]));
  const byCall = new Map<string, number>();
  let total = 0;
  for (const row of after) {
    if (row.service !== 'dynamodb') continue;
    const requests = row.requests - (earlier.get(key(row)) ?? 0);
    if (requests === 0) continue;
    const name = `${callerKind(row.caller)} ${row.operation.replace(/^dynamodb:/, '')}`;
    byCall.set(name, (byCall.get(name) ?? 0) + requests);
    total += requests;
  }
  const per = (n: number) => round(n / Math.max(1, applied), 3);
  return [
    {
      figure: 'cost: DynamoDB requests per applied event (every caller, stream reads included)',
      value: per(total),
      unit: 'requests',
      target: 'reference',
      met: null,
    },
    ...[...byCall.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, requests]) => ({
        figure: `cost: DynamoDB requests per applied event: ${name}`,
        value: per(requests),
        unit: 'requests',
        target: 'reference',
        met: null,
      })),
  ];
}
