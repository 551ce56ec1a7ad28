/**
 * A social/content application as a second example: users in several countries, each reaching the region
 * nearest to them; users and posts are important (lww), reactions ordinary (append-only counters). No
 * core tier, no sagas. Run it with `npm start -- --config examples/social/multiactive.config.ts`.
 */
import { defineApp } from '../../lib/app/index.ts';
import { socialChaos } from './chaos/index.ts';
import { socialDemo } from './demo.ts';
import { dev } from './envs/dev.ts';
import { prod } from './envs/prod.ts';
import { post } from './post.ts';
import { reactions } from './reactions.ts';
import { user } from './user.ts';

export default defineApp({
  name: 'social',
  aggregates: [user, post, reactions],
  environments: { dev, prod },
  demo: socialDemo,
  chaos: socialChaos,
});
