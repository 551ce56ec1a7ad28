import { defineTopology } from '../../../lib/config/index.ts';

/**
 * Development: three regions for users in three continents (the cross-country case of seed §8.3). A
 * user's clients reach the region nearest to their country, so nearly all of their writes are local.
 */
export const dev = defineTopology({
  name: 'dev',
  account: '333333333333',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }, { name: 'ap-southeast-1' }],
  partitions: 256,
  aggregates: [
    { type: 'user', tier: 'important', conflict: 'lww' },
    { type: 'post', tier: 'important', conflict: 'lww' },
    { type: 'reactions', tier: 'ordinary' },
  ],
  latencyMs: {
    'us-east-1|eu-west-1': 37,
    'us-east-1|ap-southeast-1': 110,
    'eu-west-1|ap-southeast-1': 91,
  },
  gtm: { policy: 'latency', healthCheck: { intervalSeconds: 10, failureThreshold: 3 } },
  api: {
    auth: {
      type: 'jwt',
      issuer: 'https://auth.dev.social.example.com/',
      audience: ['social-dev-api'],
    },
  },
  // No core tier: a region loss may lose what had not replicated yet (important: the lag at failure,
  // re-merged on return; ordinary: reactions may be lost), which these objectives declare.
  objectives: {
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: false, pointInTimeRecovery: true },
});
