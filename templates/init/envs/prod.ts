import { defineTopology } from 'multiactive';

/** Production: core writes acknowledged by a majority of regions (RPO 0), IAM-signed clients, protected tables. */
export const prod = defineTopology({
  name: 'prod',
  account: '222222222222',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }, { name: 'ap-southeast-1' }],
  aggregates: [
    { type: 'wallet', tier: 'core' },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'activity', tier: 'ordinary' },
  ],
  core: { ack: 'quorum' },
  latencyMs: {
    'us-east-1|eu-west-1': 37,
    'us-east-1|ap-southeast-1': 110,
    'eu-west-1|ap-southeast-1': 91,
  },
  gtm: { policy: 'latency', healthCheck: { intervalSeconds: 10, failureThreshold: 3 } },
  api: { auth: { type: 'iam' } },
  objectives: {
    core: { rtoSeconds: 300, rpoSeconds: 0 },
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: true, pointInTimeRecovery: true },
});
