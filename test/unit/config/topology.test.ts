import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import {
  ConfigError,
  latencyBetween,
  majorityOf,
  nearestRegions,
  parseTopology,
  UnknownEnvironmentError,
} from '../../../lib/config/index.ts';

const valid = {
  name: 'x',
  account: '111111111111',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
  aggregates: [{ type: 'account', tier: 'core' }],
};

function issuesOf(input: unknown): string[] {
  try {
    parseTopology(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('topology configuration', () => {
  it('ships dev with three regions and fills every default', () => {
    const dev = bank.topology('dev');
    expect(dev.regions.map((r) => r.name)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
    expect(dev.partitions).toBe(256);
    expect(dev.thresholds.maxEventBytes).toBe(256 * 1024);
    expect(dev.gtm.healthCheck).toEqual({ path: '/health', intervalSeconds: 10, failureThreshold: 3 });
  });

  it('names a duplicate region by its path', () => {
    const issues = issuesOf({
      ...valid,
      regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }, { name: 'eu-west-1' }],
    });
    expect(issues).toEqual(['regions[2].name: duplicate region "eu-west-1"']);
  });

  it('names an unknown tier by its path', () => {
    const issues = issuesOf({ ...valid, aggregates: [{ type: 'account', tier: 'gold' }] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^aggregates\[0\]\.tier: .*"core"\|"important"\|"ordinary"/);
  });

  it('refuses a single region', () => {
    expect(issuesOf({ ...valid, regions: [{ name: 'us-east-1' }] })).toEqual([
      'regions: at least two regions are needed for active-active',
    ]);
  });

  it('lists every problem at once, schema and cross-field alike', () => {
    const issues = issuesOf({
      ...valid,
      account: 'abc',
      regions: [{ name: 'us-east-1' }, { name: 'us-east-1' }],
      aggregates: [{ type: 'account', tier: 'gold' }],
    });
    expect(issues.map((i) => i.split(':')[0])).toEqual(['account', 'aggregates[0].tier', 'regions[1].name']);
  });

  it('refuses unknown fields, latency entries for unknown regions and a degrade threshold without hysteresis', () => {
    const issues = issuesOf({
      ...valid,
      colour: 'blue',
      latencyMs: { 'us-east-1|mars-north-1': 5 },
      thresholds: { degradeLagMs: 1_000, recoverLagMs: 1_000 },
    });
    expect(issues.some((i) => i.includes('colour'))).toBe(true);
    const crossField = issuesOf({
      ...valid,
      latencyMs: { 'us-east-1|mars-north-1': 5 },
      thresholds: { degradeLagMs: 1_000, recoverLagMs: 1_000 },
    });
    expect(crossField).toEqual([
      'latencyMs.us-east-1|mars-north-1: must name two configured regions as "a|b"; unknown: mars-north-1',
      'thresholds.recoverLagMs: must be below degradeLagMs (1000) so the sync breaker has hysteresis',
    ]);
  });

  it('refuses an event size limit a DynamoDB item cannot hold', () => {
    expect(issuesOf({ ...valid, thresholds: { maxEventBytes: 500 * 1024 } })).toEqual([
      'thresholds.maxEventBytes: a DynamoDB item holds at most 400 KB',
    ]);
  });

  it('names the known environments when asked for an unknown one', () => {
    expect(() => bank.topology('staging')).toThrow(UnknownEnvironmentError);
    expect(() => bank.topology('staging')).toThrow('known environments: dev, prod, world');
  });

  it('orders regions nearest first from the latency table, symmetric in the pair', () => {
    const dev = bank.topology('dev');
    expect(latencyBetween(dev, 'eu-west-1', 'us-east-1')).toBe(latencyBetween(dev, 'us-east-1', 'eu-west-1'));
    expect(nearestRegions(dev, 'ap-southeast-1')).toEqual(['ap-southeast-1', 'eu-west-1', 'us-east-1']);
    expect(majorityOf(dev)).toBe(2);
  });
});
