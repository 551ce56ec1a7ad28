import { defineTopology } from '../../../lib/config/index.ts';

/**
 * Round-trip times in ms between the five regions: the one-year p50 of CloudPing's inter-region matrix
 * (cloudping.co, ping between EC2 instances, "p50 / 1 year"), rounded to 5 ms. `latencyMs` takes one-way
 * figures, so each is halved below. The three pairs of dev and prod agree with them (70 / 219 / 182 ms).
 */
const RTT_MS = {
  'us-east-1|eu-west-1': 70,
  'us-east-1|ap-southeast-1': 220,
  'us-east-1|us-west-2': 65,
  'us-east-1|ap-northeast-1': 145,
  'eu-west-1|ap-southeast-1': 180,
  'eu-west-1|us-west-2': 125,
  'eu-west-1|ap-northeast-1': 205,
  'ap-southeast-1|us-west-2': 165,
  'ap-southeast-1|ap-northeast-1': 70,
  'us-west-2|ap-northeast-1': 100,
} as const;

/**
 * Five regions with quorum-acknowledged core writes: a majority is 3 of 5, so a core write is acknowledged
 * with two regions away and refused (503) with three away. The first three regions are those of dev and
 * prod, so `--regions 3` runs the three-region shape with these latencies, and `--regions 4` the even case
 * (a majority of 3 of 4).
 */
export const world = defineTopology({
  name: 'world',
  account: '333333333333',
  regions: [
    { name: 'us-east-1' },
    { name: 'eu-west-1' },
    { name: 'ap-southeast-1' },
    { name: 'us-west-2' },
    { name: 'ap-northeast-1' },
  ],
  partitions: 256,
  aggregates: [
    { type: 'account', tier: 'core', lifecycle: { snapshotEvery: 100 } },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'activity', tier: 'ordinary' },
    { type: 'transfer', tier: 'core' },
  ],
  core: { ack: 'quorum' },
  latencyMs: Object.fromEntries(Object.entries(RTT_MS).map(([pair, rtt]) => [pair, rtt / 2])),
  gtm: {
    policy: 'latency',
    domainName: 'api.world.multiactive.example.com',
    hostedZoneName: 'world.multiactive.example.com',
    hostedZoneId: 'Z0WORLDMULTIACTIVE001',
    healthCheck: { intervalSeconds: 10, failureThreshold: 3 },
  },
  api: {
    auth: {
      type: 'jwt',
      issuer: 'https://auth.world.multiactive.example.com/',
      audience: ['multiactive-world-api'],
    },
  },
  objectives: {
    core: { rtoSeconds: 300, rpoSeconds: 0 },
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: false, pointInTimeRecovery: true },
});
