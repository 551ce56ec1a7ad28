import { regionNames, type Topology } from '../config/index.ts';
import type { RegionFlow, TypeFlow } from './flows.ts';
import { type DynamoCall, OPERATIONS, type OperationContext, type OperationId } from './operations.ts';
import type { FunctionName } from './runtime.ts';
import { type CostTier, type UsageLine, usageLine } from './usage-types.ts';

interface Invocation {
  readonly id: OperationId;
  readonly rate: number;
  readonly fn: FunctionName;
  readonly tier: CostTier;
  readonly aggregateType?: string;
  readonly context: OperationContext;
}

function contextOf(flow: RegionFlow, type?: TypeFlow): OperationContext {
  return {
    eventsPerWrite: type?.traffic.eventsPerWrite ?? 1,
    eventBytes: type?.traffic.eventBytes ?? 600,
    stateBytes: type?.traffic.stateBytes ?? 800,
    cacheHitRate: flow.cacheHitRate,
  };
}

/** The operations a region performs per second, by function and tier. */
function invocations(flow: RegionFlow): Invocation[] {
  const platform = contextOf(flow);
  const list: Invocation[] = [];
  for (const t of flow.types) {
    const context = contextOf(flow, t);
    const op = (id: OperationId, rate: number, fn: FunctionName) =>
      list.push({ id, rate, fn, tier: t.tier, aggregateType: t.type, context });
    if (t.tier === 'core') {
      op('command.core', t.writesExecuted, 'api');
      op('command.core.quorumCopy', t.quorumCopiesOut / t.traffic.eventsPerWrite, 'api');
      op('apply.core', t.eventsApplied, 'applier');
      op('apply.core.quorumCopy', t.quorumCopyApplies, 'applier');
    } else {
      op('command.materialized', t.writesExecuted, 'api');
      op('apply.materialized', t.eventsApplied, 'applier');
    }
    op('command.idempotent', t.idempotent, 'api');
    op('read.local', t.reads, 'api');
    op('read.token', t.tokenReads, 'api');
  }
  const plat = (id: OperationId, rate: number, fn: FunctionName, tier: CostTier = 'platform') =>
    list.push({ id, rate, fn, tier, context: platform });
  plat('lease.refresh', flow.leaseRefreshes, 'api', 'core');
  plat('sync.refresh', flow.syncRefreshes, 'api');
  plat('traffic.refresh', flow.trafficRefreshes, 'api');
  plat('health', flow.health, 'api');
  plat('heartbeat.tick', flow.heartbeats, 'lag-monitor');
  plat('apply.heartbeat', flow.inbound - flow.types.reduce((s, t) => s + t.eventsApplied + t.quorumCopyApplies, 0), 'applier');
  return list.filter((i) => i.rate > 0);
}

function targets(call: DynamoCall, flow: RegionFlow, topology: Topology): string[] {
  if (call.place === 'everyRegion') return regionNames(topology);
  if (call.place === 'quorumPeer') return flow.quorumPeer ? [flow.quorumPeer] : [];
  return [flow.region];
}

/**
 * DynamoDB usage of one region's load: every operation's calls times its rate, billed where the table is.
 * A call to another region's table sends its request out of this region (writes) or its answer out of
 * that one (reads).
 */
export function dynamoUsage(flow: RegionFlow, topology: Topology): UsageLine[] {
  const lines: UsageLine[] = [];
  for (const inv of invocations(flow)) {
    for (const call of OPERATIONS[inv.id].calls(inv.context)) {
      for (const region of targets(call, flow, topology)) {
        const n = inv.rate * call.count;
        const remote = region !== flow.region;
        const isRead = call.readUnits > 0;
        const base = {
          caller: `${flow.region}/${inv.fn}`,
          service: 'dynamodb' as const,
          operation: `dynamodb:${call.action}`,
          source: inv.id,
          tier: inv.tier,
          ...(inv.aggregateType ? { aggregateType: inv.aggregateType } : {}),
        };
        lines.push(
          usageLine(
            { ...base, region },
            {
              table: call.table,
              requests: n,
              items: n * call.items,
              readUnits: n * call.readUnits,
              writeUnits: n * call.writeUnits,
              indexWriteUnits: n * call.indexWriteUnits,
              ...(call.writeUnitsByTable
                ? {
                    writeUnitsByTable: Object.fromEntries(
                      Object.entries(call.writeUnitsByTable).map(([k, v]) => [k, n * v]),
                    ),
                  }
                : {}),
              ...(call.hotKey ? { hotKey: call.hotKey } : {}),
              bytesOut: remote && isRead ? n * call.bytes : 0,
            },
          ),
        );
        if (remote && !isRead)
          lines.push(
            usageLine(
              { ...base, region: flow.region, service: 'datatransfer', operation: 'datatransfer:Out' },
              { bytesOut: n * call.bytes },
            ),
          );
      }
    }
  }
  return lines;
}
