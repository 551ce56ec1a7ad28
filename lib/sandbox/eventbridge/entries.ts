import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent, PutEventsEntry } from './types.ts';

/** Largest PutEvents entry EventBridge accepts since January 2026 (1 MiB, billed per 64 KB). */
export const MAX_ENTRY_BYTES = 1024 * 1024;
/** Most entries one PutEvents call may carry. */
export const MAX_ENTRIES_PER_CALL = 10;

/** Where an entry is published: the bus's identity. */
export interface BusIdentity {
  name: string;
  region: string;
  account: string;
}

/** A refused entry, in the shape of a PutEvents result entry. */
export interface EntryError {
  ErrorCode: string;
  ErrorMessage: string;
}

/** The size EventBridge bills and limits: Time (14 bytes if set) + Source + DetailType + Detail + Resources, UTF-8. */
export function entrySize(entry: PutEventsEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  const resources = (entry.Resources ?? []).reduce((sum, r) => sum + bytes(r), 0);
  return (
    (entry.Time ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + resources
  );
}

function targetsThisBus(busName: string | undefined, bus: BusIdentity): boolean {
  if (busName === undefined || busName === '' || busName === bus.name) return true;
  return busName === `arn:aws:events:${bus.region}:${bus.account}:event-bus/${bus.name}`;
}

function parseDetail(detail: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(detail);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** AWS's own format: seconds precision, no milliseconds. */
const formatTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

/** Checks one entry the way PutEvents does and builds the event a target would receive, or the entry error. */
export function toEvent(entry: PutEventsEntry, bus: BusIdentity, now: Date): EventBridgeEvent | EntryError {
  if (!entry.Source)
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
    };
  if (!entry.DetailType)
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
    };
  if (entry.Detail === undefined)
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
    };
  const size = entrySize(entry);
  if (size > MAX_ENTRY_BYTES) {
    return {
      ErrorCode: 'ValidationException',
      ErrorMessage: `Entry size ${size} bytes exceeds the limit of ${MAX_ENTRY_BYTES} bytes.`,
    };
  }
  if (!targetsThisBus(entry.EventBusName, bus)) {
    return {
      ErrorCode: 'ResourceNotFoundException',
      ErrorMessage: `Event bus ${entry.EventBusName} does not exist.`,
    };
  }
  const detail = parseDetail(entry.Detail);
  if (!detail) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: bus.account,
    time: formatTime(entry.Time ?? now),
    region: bus.region,
    resources: [...(entry.Resources ?? [])],
    detail,
  };
}
