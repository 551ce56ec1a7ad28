import { laneBatchRecords, type RegionFlow, type TypeFlow } from './flows.ts';
import { type DynamoCall, OPERATIONS, type OperationContext, type OperationId } from './operations.ts';
import { isSagaType } from './profile.ts';
import type { SagaShapes } from './sagas.ts';
import { type CostTier, type UsageLine, usageLine } from './usage-types.ts';

/** An operation performed `rate` times a second in a region, on behalf of a tier (and aggregate type). */
interface Invocation {
  readonly id: OperationId;
  readonly rate: number;
  readonly tier: CostTier;
  readonly aggregateType?: string;
  readonly context: OperationContext;
}

function contextOf(flow: RegionFlow, sagas: SagaShapes, type?: TypeFlow): OperationContext {
  return {
    eventsPerWrite: type?.traffic.eventsPerWrite ?? 1,
    eventBytes: type?.traffic.eventBytes ?? 600,
    stateBytes: type?.traffic.stateBytes ?? 800,
    cacheHitRate: flow.cacheHitRate,
    ...(type && isSagaType(type.type, sagas) ? { dueIndexed: true } : {}),
  };
}

/** Row size of a saga's participants (the begin's dry run reads them). */
function participantRowBytes(flow: RegionFlow, sagas: SagaShapes, saga: string): number {
  const sizes = (sagas[saga]?.participants ?? []).map(
    (p) => flow.types.find((t) => t.type === p.aggregateType)?.traffic.stateBytes ?? 800,
  );
  return sizes.length > 0 ? Math.max(...sizes) : 800;
}

/**
 * The operations the sagas cause on one aggregate type in a region: begins (the dry run, the BeginSaga
 * write), the saga function's loads and core writes, participant steps forwarded here (keyed like any
 * forwarded write), and their quorum-ack copies.
 */
function sagaInvocations(
  flow: RegionFlow,
  sagas: SagaShapes,
  t: TypeFlow,
  context: OperationContext,
): Invocation[] {
  const s = t.saga;
  const op = (id: OperationId, rate: number, c: OperationContext = context): Invocation => ({
    id,
    rate,
    tier: t.tier,
    aggregateType: t.type,
    context: c,
  });
  const single = { ...context, eventsPerWrite: 1 };
  const apiWrites = s.begun + s.stepsIn;
  return [
    op('saga.begin', s.begun, {
      ...context,
      participants: s.participants,
      participantStateBytes: participantRowBytes(flow, sagas, t.type),
    }),
    op('command.core', apiWrites, single),
    op('command.idempotent', s.stepsIn),
    op('command.core.copy', t.quorum ? apiWrites : 0, single),
    op('saga.load', s.tasks),
    ...s.writes.flatMap((w) => {
      const c = { ...context, eventsPerWrite: w.events };
      return [op('saga.write', w.rate, c), op('saga.write.copy', t.quorum ? w.rate : 0, c)];
    }),
  ];
}

/** The operations one aggregate type's traffic causes in a region, per second. */
function typeInvocations(flow: RegionFlow, sagas: SagaShapes, t: TypeFlow): Invocation[] {
  const context = contextOf(flow, sagas, t);
  const op = (id: OperationId, rate: number): Invocation => ({
    id,
    rate,
    tier: t.tier,
    aggregateType: t.type,
    context,
  });
  const core = t.tier === 'core';
  const lane = t.tier === 'ordinary' ? flow.lane : undefined;
  // Ordinary events through the lane: per batch one BatchGetItem and one watermark write per origin.
  const applied = lane
    ? {
        ...op('apply.lane', t.eventsApplied),
        context: {
          ...context,
          laneBatch: laneBatchRecords(t.eventsApplied + t.appliedAfterCopy, lane),
          laneOrigins: Math.max(1, flow.peers.length),
        },
      }
    : op(core ? 'apply.core' : 'apply.materialized', t.eventsApplied);
  return [
    op(core ? 'command.core' : 'command.materialized', t.writesExecuted),
    // One copy transaction per peer and command: `eachPeer` makes the per-peer requests.
    op('command.core.copy', t.copiesOut / Math.max(1, flow.peers.length)),
    applied,
    op('apply.core.afterCopy', t.appliedAfterCopy),
    op('command.idempotent', t.idempotent),
    op(core ? 'read.core' : 'read.local', t.reads),
    op('read.token', t.tokenReads),
    ...sagaInvocations(flow, sagas, t, context),
  ];
}

/** The operations a region performs per second: its types' traffic and the shared background work. */
function invocations(flow: RegionFlow, sagas: SagaShapes): Invocation[] {
  const platform = contextOf(flow, sagas);
  const shared = (id: OperationId, rate: number, tier: CostTier = 'platform'): Invocation => ({
    id,
    rate,
    tier,
    context: platform,
  });
  return [
    ...flow.types.flatMap((t) => typeInvocations(flow, sagas, t)),
    shared('lease.refresh', flow.fenceRefreshes + flow.routeRefreshes, 'core'),
    shared('sync.refresh', flow.syncRefreshes, 'important'),
    shared('health.request', flow.healthInvocations),
    shared('health.probe', flow.healthProbes),
    shared('health.sync', flow.healthSyncRefreshes),
    shared('health.traffic', flow.trafficRefreshes),
    shared('heartbeat.tick', flow.heartbeats),
    shared('watchdog.peer', flow.watchdogTicks * flow.peers.length),
    shared('publish.batch', flow.publisher.withEvents),
    shared('publish.homeRow', flow.publisher.coreRowReads, 'core'),
    shared('apply.heartbeat', flow.heartbeatsIn),
    shared('apply.sweep', flow.sweeps),
    shared('saga.lease.refresh', flow.sagaFenceRefreshes + flow.sagaRouteRefreshes, 'core'),
    {
      ...shared('saga.sweep', flow.sagaSweeps),
      context: { ...platform, sagaTypes: Object.keys(sagas).length },
    },
  ].filter((i) => i.rate > 0);
}

function targets(call: DynamoCall, flow: RegionFlow): readonly string[] {
  if (call.place === 'everyRegion') return [flow.region, ...flow.peers];
  if (call.place === 'eachPeer') return flow.peers;
  return [flow.region];
}

/**
 * DynamoDB usage of one region's load: every operation's calls times its rate, billed where the table is.
 * A call to another region's table sends its request out of this region (writes) or its answer out of
 * that one (reads): data transfer.
 */
export function dynamoUsage(flow: RegionFlow, sagas: SagaShapes): UsageLine[] {
  const lines: UsageLine[] = [];
  for (const inv of invocations(flow, sagas)) {
    const operation = OPERATIONS[inv.id];
    for (const call of operation.calls(inv.context)) {
      const n = inv.rate * call.count;
      for (const region of targets(call, flow))
        lines.push(...callLines({ inv, call, n, region, flow, fn: operation.fn }));
    }
  }
  return lines;
}

function callLines(input: {
  inv: Invocation;
  call: DynamoCall;
  n: number;
  region: string;
  flow: RegionFlow;
  fn: string;
}): UsageLine[] {
  const { inv, call, n, region, flow, fn } = input;
  const remote = region !== flow.region;
  const isRead = call.readUnits > 0;
  const base = {
    from: flow.region,
    fn,
    source: inv.id,
    tier: inv.tier,
    ...(inv.aggregateType ? { aggregateType: inv.aggregateType } : {}),
  };
  const scaled = call.writeUnitsByTable
    ? Object.fromEntries(Object.entries(call.writeUnitsByTable).map(([k, v]) => [k, n * v]))
    : undefined;
  const lines = [
    usageLine(
      { ...base, region, service: 'dynamodb', operation: `dynamodb:${call.action}` },
      {
        table: call.table,
        requests: n,
        items: n * call.items,
        readUnits: n * call.readUnits,
        writeUnits: n * call.writeUnits,
        indexWriteUnits: n * call.indexWriteUnits,
        ...(scaled ? { writeUnitsByTable: scaled } : {}),
        ...(call.hotKey ? { hotKey: call.hotKey } : {}),
      },
    ),
  ];
  // The answer of a remote read leaves the table's region; a remote write's request leaves the caller's.
  if (remote)
    lines.push(
      usageLine(
        {
          ...base,
          region: isRead ? region : flow.region,
          from: isRead ? region : flow.region,
          service: 'datatransfer',
          operation: 'datatransfer:Out',
        },
        { bytesOut: n * call.bytes },
      ),
    );
  return lines;
}
