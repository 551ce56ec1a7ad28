import { describe, expect, it } from 'vitest';
import { processCpuMs, requestFigures } from '../../../bench/pipeline-cost.ts';
import type { CallUsageRow } from '../../../lib/sandbox/iam/usage.ts';

const row = (caller: string, operation: string, requests: number, service = 'dynamodb'): CallUsageRow => ({
  service,
  caller,
  operation,
  requests,
  items: requests,
  bytes: 0,
  denied: 0,
});

describe('requestFigures', () => {
  it('divides the DynamoDB requests made between two snapshots by the applied events, per caller kind and operation over regions', () => {
    const before = [row('eu-west-1/applier', 'dynamodb:TransactWriteItems', 10)];
    const after = [
      row('eu-west-1/applier', 'dynamodb:TransactWriteItems', 30),
      row('us-east-1/applier', 'dynamodb:TransactWriteItems', 20),
      row('us-east-1/publisher', 'dynamodb:GetRecords', 10),
      row('us-east-1/publisher', 'events:PutEvents', 99, 'events'),
      row('sandbox', 'dynamodb:BatchGetItem', 4),
    ];
    const figures = requestFigures(before, after, 40);
    const value = (suffix: string) => figures.find((f) => f.figure.endsWith(suffix))?.value;
    expect(value('(every caller, stream reads included)')).toBe(1.35);
    expect(value(': applier TransactWriteItems')).toBe(1);
    expect(value(': publisher GetRecords')).toBe(0.25);
    expect(value(': sandbox BatchGetItem')).toBe(0.1);
    // Not DynamoDB: not a row here.
    expect(figures.some((f) => f.figure.includes('PutEvents'))).toBe(false);
    // Largest first, after the total.
    expect(figures.slice(1).map((f) => f.value)).toEqual([1, 0.25, 0.1]);
  });
});

describe('processCpuMs', () => {
  it("reads a live process's CPU time from /proc, which grows as it works", () => {
    const before = processCpuMs(process.pid);
    // Spin until this process has used 50 ms of CPU (five /proc clock ticks), however busy the host is.
    const start = process.cpuUsage();
    let spin = 0;
    while (process.cpuUsage(start).user < 50_000) spin++;
    const after = processCpuMs(process.pid);
    expect(spin).toBeGreaterThan(0);
    expect(before).toBeTypeOf('number');
    expect(after).toBeGreaterThan(before ?? Number.POSITIVE_INFINITY);
  });

  it('answers undefined for a process that does not exist', () => {
    expect(processCpuMs(2 ** 22 + 1)).toBeUndefined();
  });
});
