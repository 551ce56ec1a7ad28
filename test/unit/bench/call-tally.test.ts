import { describe, expect, it } from 'vitest';
import { sumOf, tallyBetween } from '../../../bench/call-tally.ts';
import type { CallUsageRow } from '../../../lib/sandbox/iam/usage.ts';

const row = (
  caller: string,
  service: string,
  operation: string,
  requests: number,
  items = requests,
): CallUsageRow => ({
  service,
  caller,
  operation,
  requests,
  items,
  bytes: 0,
  denied: 0,
});

describe('tallyBetween', () => {
  const before = [
    row('eu-west-1/applier', 'dynamodb', 'dynamodb:TransactWriteItems', 10),
    row('eu-west-1/publisher', 'events', 'events:PutEvents', 2, 15),
  ];
  const after = [
    row('eu-west-1/applier', 'dynamodb', 'dynamodb:TransactWriteItems', 25),
    row('eu-west-1/applier', 'dynamodb', 'dynamodb:GetItem', 7),
    // Stream reads are the event source mapping's (free in AWS), the sandbox's own calls nobody's.
    row('eu-west-1/applier', 'dynamodb', 'dynamodb:GetRecords', 50),
    row('sandbox', 'dynamodb', 'dynamodb:Scan', 3),
    row('eu-west-1/publisher', 'events', 'events:PutEvents', 5, 40),
    row('us-east-1/rule/multiactive-dev-bus/multiactive-dev-apply', 'lambda', 'lambda:Invoke', 9),
    row('us-east-1/rule/multiactive-dev-bus/multiactive-dev-to-eu-west-1', 'events', 'events:PutEvents', 4),
  ];
  const tallies = tallyBetween(before, after);

  it('counts what was called between the snapshots, per region and function', () => {
    expect(sumOf(tallies, { fn: 'applier', service: 'dynamodb' })).toBe(22);
    expect(sumOf(tallies, { fn: 'applier', region: 'eu-west-1', operation: 'dynamodb:GetItem' })).toBe(7);
    expect(sumOf(tallies, { fn: 'publisher', service: 'events' }, 'items')).toBe(25);
    expect(sumOf(tallies, { fn: 'applier', service: 'lambda', region: 'us-east-1' })).toBe(9);
    expect(sumOf(tallies, { fn: 'forward-rule' }, 'items')).toBe(4);
  });

  it('leaves out stream reads and the sandbox own calls', () => {
    expect(
      tallies.some((t) => t.operation === 'dynamodb:GetRecords' || t.operation === 'dynamodb:Scan'),
    ).toBe(false);
  });
});
