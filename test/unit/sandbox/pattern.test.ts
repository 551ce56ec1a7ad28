import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidEventPatternError } from '../../../lib/sandbox/eventbridge/errors.ts';
import { matchesPattern, validatePattern } from '../../../lib/sandbox/eventbridge/pattern.ts';

// Examples are taken from the AWS documentation:
// - "Creating Amazon EventBridge event patterns":
//   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
// - "Arrays in Amazon EventBridge event patterns":
//   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
// - "Content filtering in Amazon EventBridge event patterns" / "Comparison operators":
//   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
//   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html

const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

const withDetail = (detail: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...ec2Event,
  ...extra,
  detail,
});

describe('event patterns (eb-event-patterns)', () => {
  const pattern = {
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['terminated'] },
  };

  it('matches the EC2 termination event', () => {
    expect(matchesPattern(pattern, ec2Event)).toBe(true);
  });

  it('does not match when one ANDed field differs', () => {
    expect(matchesPattern(pattern, withDetail({ state: 'running' }))).toBe(false);
    expect(matchesPattern(pattern, { ...ec2Event, source: 'aws.s3' })).toBe(false);
  });

  it('requires every pattern field to be present in the event', () => {
    expect(matchesPattern({ detail: { missing: ['x'] } }, ec2Event)).toBe(false);
  });

  it('accepts the pattern and the event as JSON strings, like TestEventPattern', () => {
    expect(matchesPattern(JSON.stringify(pattern), JSON.stringify(ec2Event))).toBe(true);
  });

  it('compares strings and numbers by type: "5" does not match 5', () => {
    expect(matchesPattern({ detail: { n: ['5'] } }, withDetail({ n: 5 }))).toBe(false);
    expect(matchesPattern({ detail: { n: [5] } }, withDetail({ n: 5 }))).toBe(true);
  });
});

describe('arrays (eb-event-patterns-arrays)', () => {
  const pattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern array and the event array intersect', () => {
    const event = {
      ...ec2Event,
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it('does not match when the intersection is empty', () => {
    expect(
      matchesPattern(pattern, { ...ec2Event, resources: ['arn:aws:ec2:us-east-1:999:instance/i-x'] }),
    ).toBe(false);
  });

  it('applies a nested pattern to one element of an array of objects at a time', () => {
    const nested = { detail: { items: { sku: ['a'], qty: [2] } } };
    expect(
      matchesPattern(
        nested,
        withDetail({
          items: [
            { sku: 'a', qty: 1 },
            { sku: 'b', qty: 2 },
          ],
        }),
      ),
    ).toBe(false);
    expect(
      matchesPattern(
        nested,
        withDetail({
          items: [
            { sku: 'b', qty: 1 },
            { sku: 'a', qty: 2 },
          ],
        }),
      ),
    ).toBe(true);
  });
});

describe('content filtering: prefix, suffix, equals-ignore-case', () => {
  it('prefix matches the start of a string value', () => {
    const pattern = { time: [{ prefix: '2017-10-02' }] };
    expect(matchesPattern(pattern, { ...ec2Event, time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matchesPattern(pattern, { ...ec2Event, time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('prefix with equals-ignore-case ignores the case of the value', () => {
    const pattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    expect(matchesPattern(pattern, withDetail({ service: 'EventBridge' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ service: 'eventbridge' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ service: 'EVENTBUS' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ service: 'Lambda' }))).toBe(false);
  });

  it('suffix is case-sensitive unless combined with equals-ignore-case', () => {
    expect(matchesPattern({ FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' })).toBe(true);
    expect(matchesPattern({ FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' })).toBe(false);
    const ignoreCase = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    expect(matchesPattern(ignoreCase, withDetail({ FileName: 'image.PNG' }))).toBe(true);
  });

  it('equals-ignore-case matches "Alice" for "alice"', () => {
    expect(matchesPattern({ Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alice' })).toBe(true);
    expect(matchesPattern({ Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alicia' })).toBe(false);
  });

  it('string operators do not match numbers', () => {
    expect(matchesPattern({ n: [{ prefix: '1' }] }, { n: 12 })).toBe(false);
  });

  it('matches empty strings and nulls exactly', () => {
    expect(matchesPattern({ LastName: [''] }, { LastName: '' })).toBe(true);
    expect(matchesPattern({ LastName: [''] }, {})).toBe(false);
    expect(matchesPattern({ UserID: [null] }, { UserID: null })).toBe(true);
    expect(matchesPattern({ UserID: [null] }, {})).toBe(false);
    expect(matchesPattern({ UserID: [null] }, { UserID: '' })).toBe(false);
  });
});

describe('content filtering: anything-but', () => {
  it('excludes a single string or number', () => {
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'terminated' }] } }, ec2Event)).toBe(false);
    expect(
      matchesPattern({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, withDetail({ 'x-limit': 124 })),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, withDetail({ 'x-limit': 123 })),
    ).toBe(false);
  });

  it('excludes a list of strings or of numbers', () => {
    const strings = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(matchesPattern(strings, withDetail({ state: 'running' }))).toBe(true);
    expect(matchesPattern(strings, withDetail({ state: 'overloaded' }))).toBe(false);
    const numbers = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(matchesPattern(numbers, withDetail({ 'x-limit': 200 }))).toBe(false);
    expect(matchesPattern(numbers, withDetail({ 'x-limit': 150 }))).toBe(true);
  });

  it('does not match an absent field', () => {
    expect(matchesPattern({ detail: { nope: [{ 'anything-but': 'x' }] } }, ec2Event)).toBe(false);
  });

  it('supports prefix, suffix, equals-ignore-case and wildcard exclusions', () => {
    expect(
      matchesPattern(
        { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
        withDetail({ state: 'initializing' }),
      ),
    ).toBe(false);
    expect(
      matchesPattern(
        { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
        withDetail({ state: 'running' }),
      ),
    ).toBe(true);
    expect(
      matchesPattern(
        { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
        withDetail({ FileName: 'a.txt' }),
      ),
    ).toBe(false);
    expect(
      matchesPattern(
        { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
        withDetail({ FileName: 'a.png' }),
      ),
    ).toBe(true);
    const ignoreCase = {
      detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] },
    };
    expect(matchesPattern(ignoreCase, withDetail({ state: 'INITIALIZING' }))).toBe(false);
    expect(matchesPattern(ignoreCase, withDetail({ state: 'Running' }))).toBe(true);
    const wildcard = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };
    expect(matchesPattern(wildcard, { FilePath: 'src/lib/x.ts' })).toBe(false);
    expect(matchesPattern(wildcard, { FilePath: 'src/bin/x.ts' })).toBe(true);
  });
});

describe('content filtering: numeric', () => {
  const pattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches values inside every range', () => {
    expect(matchesPattern(pattern, withDetail({ 'c-count': 5, 'd-count': 7, 'x-limit': 301.8 }))).toBe(true);
  });

  it('respects open and closed bounds', () => {
    expect(matchesPattern(pattern, withDetail({ 'c-count': 0, 'd-count': 7, 'x-limit': 301.8 }))).toBe(false);
    expect(matchesPattern(pattern, withDetail({ 'c-count': 5.5, 'd-count': 7, 'x-limit': 301.8 }))).toBe(
      false,
    );
    expect(matchesPattern(pattern, withDetail({ 'c-count': 1, 'd-count': 10, 'x-limit': 301.8 }))).toBe(
      false,
    );
  });

  it('only applies to JSON numbers, not numeric strings', () => {
    expect(matchesPattern(pattern, withDetail({ 'c-count': '3', 'd-count': 7, 'x-limit': 301.8 }))).toBe(
      false,
    );
  });

  it('combines with the documented prefix/anything-but example', () => {
    const combined = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    const event = withDetail(
      { state: 'running', 'c-count': 2, 'd-count': 3, 'x-limit': 250 },
      { time: '2017-10-02T00:00:00Z' },
    );
    expect(matchesPattern(combined, event)).toBe(true);
    expect(matchesPattern(combined, { ...event, detail: { ...event.detail, 'x-limit': 300 } })).toBe(false);
  });
});

describe('content filtering: cidr', () => {
  it('matches IPv4 addresses inside the block only', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    expect(matchesPattern(pattern, withDetail({ sourceIPAddress: '10.0.0.255' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ sourceIPAddress: '10.0.1.0' }))).toBe(false);
    expect(matchesPattern(pattern, withDetail({ sourceIPAddress: 'not-an-ip' }))).toBe(false);
  });

  it('matches IPv6 blocks', () => {
    const pattern = { ip: [{ cidr: '2001:db8::/32' }] };
    expect(matchesPattern(pattern, { ip: '2001:db8:1::5' })).toBe(true);
    expect(matchesPattern(pattern, { ip: '2001:db9::5' })).toBe(false);
  });
});

describe('content filtering: exists', () => {
  it('exists true matches a present leaf, exists false an absent field', () => {
    expect(matchesPattern({ detail: { state: [{ exists: true }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { 'c-count': [{ exists: true }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { 'c-count': [{ exists: false }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ exists: false }] } }, ec2Event)).toBe(false);
  });

  it('only sees leaf nodes: an object-valued field does not "exist"', () => {
    const event = withDetail({ state: { name: 'running' } });
    expect(matchesPattern({ detail: { state: [{ exists: true }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ exists: false }] } }, event)).toBe(true);
  });

  it('exists false matches inside an absent parent object', () => {
    expect(matchesPattern({ detail: { nested: { x: [{ exists: false }] } } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { nested: { x: [{ exists: true }] } } }, ec2Event)).toBe(false);
  });
});

describe('content filtering: wildcard', () => {
  it('matches any .png file in dir', () => {
    const pattern = { EventBusArn: [{ wildcard: 'dir/*.png' }] };
    expect(matchesPattern(pattern, { EventBusArn: 'dir/a.png' })).toBe(true);
    expect(matchesPattern(pattern, { EventBusArn: 'dir/sub/a.png' })).toBe(true);
    expect(matchesPattern(pattern, { EventBusArn: 'dir/a.jpg' })).toBe(false);
    expect(matchesPattern(pattern, { EventBusArn: 'other/a.png' })).toBe(false);
  });

  it('treats \\* as a literal star and regex characters literally', () => {
    expect(matchesPattern({ f: [{ wildcard: 'a\\*b' }] }, { f: 'a*b' })).toBe(true);
    expect(matchesPattern({ f: [{ wildcard: 'a\\*b' }] }, { f: 'axxb' })).toBe(false);
    expect(matchesPattern({ f: [{ wildcard: 'a.c' }] }, { f: 'abc' })).toBe(false);
  });
});

describe('$or', () => {
  it('matches when any branch matches (numeric example)', () => {
    const pattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };
    expect(matchesPattern(pattern, withDetail({ 'd-count': 3 }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ 'x-limit': 301.8 }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ 'c-count': 9, 'd-count': 11 }))).toBe(false);
  });

  it('is ANDed with sibling fields (CloudWatch example)', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', metricName: 'DiskQueue' })).toBe(false);
    expect(matchesPattern(pattern, { source: 'aws.ec2', metricName: 'CPUUtilization' })).toBe(false);
  });
});

describe('validatePattern', () => {
  const invalid: Array<[string, unknown]> = [
    ['a non-object pattern', ['aws.ec2']],
    ['an empty object', {}],
    ['a scalar where an array is required', { source: 'aws.ec2' }],
    ['an empty array', { source: [] }],
    ['an unknown operator', { source: [{ contains: 'x' }] }],
    ['two operators in one object', { source: [{ prefix: 'a', suffix: 'b' }] }],
    ['a non-boolean exists', { source: [{ exists: 'yes' }] }],
    ['an inverted numeric range', { n: [{ numeric: ['>', 5, '<', 1] }] }],
    ['an unknown numeric operator', { n: [{ numeric: ['!=', 5] }] }],
    ['a numeric range with two lower bounds', { n: [{ numeric: ['>', 1, '>=', 2] }] }],
    ['a malformed cidr', { ip: [{ cidr: '10.0.0.0/33' }] }],
    ['consecutive wildcards', { f: [{ wildcard: 'a**b' }] }],
    ['a mixed anything-but list', { f: [{ 'anything-but': ['a', 1] }] }],
    ['anything-but null', { f: [{ 'anything-but': null }] }],
    ['$or with one branch', { $or: [{ a: ['x'] }] }],
    ['invalid JSON text', '{"source": ['],
  ];

  it.each(invalid)('rejects %s with InvalidEventPatternError', (_label, pattern) => {
    expect(() => validatePattern(pattern)).toThrow(InvalidEventPatternError);
  });

  it('names the offending path in the error', () => {
    expect(() => validatePattern({ detail: { 'c-count': [{ numeric: ['>', 5, '<', 1] }] } })).toThrow(
      /detail\.c-count\[0\]/,
    );
  });

  it('accepts every documented operator', () => {
    expect(() =>
      validatePattern({
        a: [
          'x',
          1,
          true,
          null,
          { prefix: 'p' },
          { suffix: { 'equals-ignore-case': 's' } },
          { cidr: '10.0.0.0/8' },
        ],
        b: [
          { 'anything-but': { wildcard: ['*x', 'y*'] } },
          { numeric: ['>=', 0] },
          { exists: false },
          { wildcard: '*' },
        ],
        $or: [{ c: ['1'] }, { d: { e: ['2'] } }],
      }),
    ).not.toThrow();
  });
});

describe('properties', () => {
  it('prefix matches exactly the strings that start with it', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (prefix, value) => {
        expect(matchesPattern({ f: [{ prefix }] }, { f: value })).toBe(value.startsWith(prefix));
      }),
    );
  });

  it('a wildcard without stars is an exact match', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/[*\\]/.test(s)),
        fc.string(),
        (literal, value) => {
          expect(matchesPattern({ f: [{ wildcard: literal }] }, { f: value })).toBe(value === literal);
          expect(matchesPattern({ f: [{ wildcard: literal }] }, { f: literal })).toBe(true);
        },
      ),
    );
  });

  it('a numeric range agrees with plain comparisons', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (lo, width, v) => {
          const hi = lo + width;
          expect(matchesPattern({ n: [{ numeric: ['>', lo, '<=', hi] }] }, { n: v })).toBe(v > lo && v <= hi);
        },
      ),
    );
  });
});
