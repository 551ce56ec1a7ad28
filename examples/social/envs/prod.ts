import { defineTopology } from '../../../lib/config/index.ts';

/** Production: five regions, so users in South America and Europe's east are near a region too. */
export const prod = defineTopology({
  name: 'prod',
  account: '444444444444',
  regions: [
    { name: 'us-east-1' },
    { name: 'sa-east-1' },
    { name: 'eu-west-1' },
    { name: 'eu-central-1' },
    { name: 'ap-southeast-1' },
  ],
  aggregates: [
    { type: 'user', tier: 'important', conflict: 'lww' },
    { type: 'post', tier: 'important', conflict: 'lww' },
    { type: 'reactions', tier: 'ordinary' },
  ],
  latencyMs: {
    'us-east-1|sa-east-1': 58,
    'us-east-1|eu-west-1': 37,
    'us-east-1|eu-central-1': 45,
    'us-east-1|ap-southeast-1': 110,
    'sa-east-1|eu-west-1': 92,
    'sa-east-1|eu-central-1': 100,
    'sa-east-1|ap-southeast-1': 165,
    'eu-west-1|eu-central-1': 12,
    'eu-west-1|ap-southeast-1': 91,
    'eu-central-1|ap-southeast-1': 80,
  },
  gtm: { policy: 'latency', healthCheck: { intervalSeconds: 10, failureThreshold: 3 } },
  api: { auth: { type: 'iam' } },
  objectives: {
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: true, pointInTimeRecovery: true },
});
