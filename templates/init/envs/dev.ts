import { defineTopology } from 'multiactive';

/**
 * Development: three regions, core writes acknowledged by their home alone. `npm start` runs this
 * environment on your machine (one DynamoDB Local per region).
 */
export const dev = defineTopology({
  name: 'dev',
  // Your AWS account id: a sample id synthesizes (with a warning) but `cdk deploy` refuses it.
  account: '111111111111',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }, { name: 'ap-southeast-1' }],
  // Every aggregate type with its tier, as declared in code (defineAggregate): they must agree.
  aggregates: [
    { type: 'wallet', tier: 'core' },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'activity', tier: 'ordinary' },
  ],
  core: { ack: 'local' },
  latencyMs: {
    'us-east-1|eu-west-1': 37,
    'us-east-1|ap-southeast-1': 110,
    'eu-west-1|ap-southeast-1': 91,
  },
  gtm: { policy: 'latency', healthCheck: { intervalSeconds: 10, failureThreshold: 3 } },
  // Clients present a JWT from your OIDC issuer (the sandbox issues its own tokens for it).
  api: {
    auth: { type: 'jwt', issuer: 'https://auth.dev.example.com/', audience: ['my-app-dev'] },
  },
  // With ack 'local' a region loss can lose core writes that had not replicated yet: say so.
  objectives: {
    core: { rtoSeconds: 300, rpoSeconds: 10 },
    important: { rtoSeconds: 120, rpoSeconds: 30 },
    ordinary: { rtoSeconds: 120, rpoSeconds: 300 },
  },
  tables: { deletionProtection: false, pointInTimeRecovery: true },
});
