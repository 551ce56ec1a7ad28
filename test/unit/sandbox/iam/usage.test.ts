import { describe, expect, it } from 'vitest';
import { CallUsage } from '../../../../lib/sandbox/iam/usage.ts';

describe('CallUsage', () => {
  it('sums requests, items, bytes and denials per service, caller and operation', () => {
    const usage = new CallUsage();
    const put = { service: 'dynamodb', caller: 'eu-west-1/api', operation: 'dynamodb:TransactWriteItems' };
    usage.record({ ...put, items: 3, bytes: 900, denied: false });
    usage.record({ ...put, items: 2, bytes: 600, denied: true });
    usage.record({
      service: 'events',
      caller: 'eu-west-1/publisher',
      operation: 'events:PutEvents',
      items: 10,
      bytes: 4096,
      denied: false,
    });
    usage.record({
      service: 'dynamodb',
      caller: undefined,
      operation: 'dynamodb:Scan',
      items: 1,
      bytes: 60,
      denied: false,
    });
    expect(usage.snapshot()).toEqual([
      {
        service: 'dynamodb',
        caller: 'eu-west-1/api',
        operation: 'dynamodb:TransactWriteItems',
        requests: 2,
        items: 5,
        bytes: 1500,
        denied: 1,
      },
      {
        service: 'dynamodb',
        caller: 'sandbox',
        operation: 'dynamodb:Scan',
        requests: 1,
        items: 1,
        bytes: 60,
        denied: 0,
      },
      {
        service: 'events',
        caller: 'eu-west-1/publisher',
        operation: 'events:PutEvents',
        requests: 1,
        items: 10,
        bytes: 4096,
        denied: 0,
      },
    ]);
    expect(usage.totals()).toEqual({ checked: 3, denied: 1, unattributed: 1 });
  });

  it('hands out copies that later calls do not change', () => {
    const usage = new CallUsage();
    const call = {
      service: 'sqs',
      caller: 'x',
      operation: 'sqs:SendMessage',
      items: 1,
      bytes: 1,
      denied: false,
    };
    usage.record(call);
    const [row] = usage.snapshot();
    usage.record(call);
    expect(row?.requests).toBe(1);
    expect(usage.snapshot()[0]?.requests).toBe(2);
  });
});
