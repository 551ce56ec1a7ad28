/**
 * The application: its aggregates and one topology per environment. `multiactive` (the CLI, the sandbox,
 * the CDK construct) reads this file; `npm start` runs the `dev` environment on this machine.
 */
import { defineApp } from 'multiactive';
import { dev } from './envs/dev.ts';
import { prod } from './envs/prod.ts';
import { activity } from './src/activity.ts';
import { profile } from './src/profile.ts';
import { wallet } from './src/wallet.ts';

export default defineApp({
  name: '{{name}}',
  aggregates: [wallet, profile, activity],
  environments: { dev, prod },
});
