import { defineTopology } from '../../../lib/config/index.ts';

/** The development environment: three regions, the example bank. */
export const dev = defineTopology({
  name: 'dev',
  account: '111111111111',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }, { name: 'ap-southeast-1' }],
  partitions: 256,
  aggregates: [
    { type: 'account', tier: 'core', lifecycle: { snapshotEvery: 100 } },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'activity', tier: 'ordinary' },
    { type: 'transfer', tier: 'core' },
  ],
  core: { ack: 'local' },
  latencyMs: {
    'us-east-1|eu-west-1': 37,
    'us-east-1|ap-southeast-1': 110,
    'eu-west-1|ap-southeast-1': 91,
  },
  gtm: {
    policy: 'latency',
    domainName: 'api.dev.multiactive.example.com',
    hostedZoneName: 'dev.multiactive.example.com',
    hostedZoneId: 'Z0DEVMULTIACTIVE00001',
    healthCheck: { intervalSeconds: 10, failureThreshold: 3 },
  },
  // Clients present a JWT from the team's OIDC issuer (the sandbox issues its own for this issuer).
  api: {
    auth: {
      type: 'jwt',
      issuer: 'https://auth.dev.multiactive.example.com/',
      audience: ['multiactive-dev-api'],
    },
  },
  // Core writes are acknowledged locally here (ack 'local'): a region loss can lose what had not yet
  // replicated, so the declared core RPO is the replication lag this environment tolerates, not 0.
  objectives: {
    core: { rtoSeconds: 300, rpoSeconds: 10 },
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: false, pointInTimeRecovery: true },
  // A development environment logs each runbook step's input and output, for debugging.
  monitoring: { logExecutionData: true },
});
