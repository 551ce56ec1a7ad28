import { defineTopology } from '../../../lib/config/index.ts';

/** A production-shaped environment: quorum-acknowledged core writes, protected tables. */
export const prod = defineTopology({
  name: 'prod',
  account: '222222222222',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }, { name: 'ap-southeast-1' }],
  aggregates: [
    { type: 'account', tier: 'core', lifecycle: { snapshotEvery: 100 } },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'activity', tier: 'ordinary' },
    { type: 'transfer', tier: 'core' },
  ],
  core: { ack: 'quorum' },
  latencyMs: {
    'us-east-1|eu-west-1': 37,
    'us-east-1|ap-southeast-1': 110,
    'eu-west-1|ap-southeast-1': 91,
  },
  gtm: { policy: 'latency', healthCheck: { intervalSeconds: 10, failureThreshold: 3 } },
  // Clients sign requests with IAM credentials (SigV4); API Gateway checks execute-api:Invoke.
  api: { auth: { type: 'iam' } },
  objectives: {
    core: { rtoSeconds: 300, rpoSeconds: 0 },
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: true, pointInTimeRecovery: true },
});
