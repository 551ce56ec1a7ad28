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
  'datatransfer',
] as const;
export type Service = (typeof SERVICES)[number];

/** Who a cost belongs to: an aggregate tier, or the platform itself (heartbeats, health, alarms). */
export type CostTier = Tier | 'platform';

/**
 * One metered flow, per second: what `caller` asks of `service` in `region` for `source`. Requests and
 * items are what the sandbox counts too (see CallUsageRow in the sandbox's usage counters); the units are
 * what AWS bills.
 */
export interface UsageLine {
  /** Region the usage is billed in (the table's, the bus's, the function's). */
  readonly region: string;
  /** `<region>/<function>` of the code making the call, as the sandbox labels callers. */
  readonly caller: string;
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
  /** Bytes that leave `region` for another region (data transfer out). */
  readonly bytesOut: number;
  readonly hotKey?: string;
}

/** A line with every quantity zero but the ones given. */
export function usageLine(
  base: Pick<UsageLine, 'region' | 'caller' | 'service' | 'operation' | 'source' | 'tier' | 'aggregateType'>,
  quantities: Partial<
    Omit<UsageLine, 'region' | 'caller' | 'service' | 'operation' | 'source' | 'tier' | 'aggregateType'>
  >,
): UsageLine {
  return {
    ...base,
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
