import type { Tier } from '../config/index.ts';
import type { TableKind } from '../store/tables.ts';

/** AWS services the model meters. */
export const SERVICES = [
  'dynamodb',
  'lambda',
  'apigateway',
  'events',
  'states',
  'route53',
  'cloudwatch',
  'xray',
  'sqs',
  'secretsmanager',
  'kms',
  'datatransfer',
] as const;
export type Service = (typeof SERVICES)[number];

/** Who a cost belongs to: an aggregate tier, or the platform itself (heartbeats, health, alarms). */
export type CostTier = Tier | 'platform';

/**
 * One metered flow, per second: what function `fn` of `region` asks of `service` for `source`. Requests
 * and items are what the sandbox counts too (`CallUsageRow`, lib/sandbox/iam/usage.ts); the units are
 * what AWS bills. For `lambda:Invoke` lines `fn` is the function invoked.
 */
export interface UsageLine {
  /** Region the usage is billed in (the table's, the bus's, the function's); `global` for Route 53. */
  readonly region: string;
  /** Region whose function makes the call (differs from `region` for quorum reads and copies). */
  readonly from: string;
  /** The function making the call (`api`, `applier`, ...), or `clients` / `route53` for outside callers. */
  readonly fn: string;
  readonly service: Service;
  /** `dynamodb:GetItem`, `events:PutEvents`, `lambda:Invoke`, ... */
  readonly operation: string;
  /** The model's operation or flow this comes from (`command.core`, `heartbeat.tick`, ...). */
  readonly source: string;
  readonly tier: CostTier;
  /** The aggregate type whose traffic causes it (absent: shared by every type). */
  readonly aggregateType?: string;
  readonly table?: TableKind;
  readonly requests: number;
  readonly items: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly indexWriteUnits: number;
  /** Write units per table when a transaction spans several (capacity per table). */
  readonly writeUnitsByTable?: Readonly<Partial<Record<TableKind, number>>>;
  /** Billable quantity of non-DynamoDB lines: GB-seconds, custom events, GB, traces, transitions. */
  readonly billed: number;
  /** Bytes that leave `from` for another region (data transfer out). */
  readonly bytesOut: number;
  /** A partition key every such request hits: per-key throughput binds there. */
  readonly hotKey?: string;
}

type Identity = 'region' | 'from' | 'fn' | 'service' | 'operation' | 'source' | 'tier' | 'aggregateType';

/** A line with every quantity zero but the ones given (`from` defaults to `region`). */
export function usageLine(
  base: Omit<Pick<UsageLine, Identity>, 'from'> & { readonly from?: string },
  quantities: Partial<Omit<UsageLine, Identity>>,
): UsageLine {
  return {
    ...base,
    from: base.from ?? base.region,
    requests: 0,
    items: 0,
    readUnits: 0,
    writeUnits: 0,
    indexWriteUnits: 0,
    billed: 0,
    bytesOut: 0,
    ...quantities,
  };
}

/** Seconds in the month AWS prices by (730 hours). */
export const SECONDS_PER_MONTH = 730 * 3600;
