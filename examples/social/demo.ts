import type { DemoCommand, DemoWorkload } from '../../lib/sandbox/demo/clients.ts';
import { countryOf } from './countries.ts';
import { REACTION_KINDS } from './reactions.ts';

/** Users per region in the demo: each registers, publishes one post, then edits it, reacts and sets a bio. */
const USERS = 2;

const userId = (region: string, i: number) => `user-${region}-${i}`;
const postId = (region: string, i: number) => `post-${region}-${i}`;

/**
 * The social app's demo: users near each region register and publish a post; then, in rotation, an author
 * edits their post (important), a reader reacts to it (ordinary), a user sets their bio (important).
 */
export const socialDemo: DemoWorkload = {
  opening(region) {
    return Array.from({ length: USERS }, (_, i): DemoCommand[] => [
      {
        tier: 'important',
        path: `/v1/user/${userId(region, i)}/commands`,
        body: { type: 'Register', payload: { handle: `${region}-${i}`, country: countryOf(region) } },
      },
      {
        tier: 'important',
        path: `/v1/post/${postId(region, i)}/commands`,
        body: { type: 'Publish', payload: { author: userId(region, i), text: `hello from ${region}` } },
      },
    ]).flat();
  },
  command(region, turn) {
    const i = turn % USERS;
    switch (turn % 3) {
      case 0:
        return {
          tier: 'important',
          path: `/v1/post/${postId(region, i)}/commands`,
          body: { type: 'Edit', payload: { text: `edit #${turn} from ${region}` } },
        };
      case 1:
        return {
          tier: 'ordinary',
          path: `/v1/reactions/${postId(region, i)}/commands`,
          body: {
            type: 'React',
            payload: {
              kind: REACTION_KINDS[turn % REACTION_KINDS.length]!,
              by: userId(region, (i + 1) % USERS),
            },
          },
        };
      default:
        return {
          tier: 'important',
          path: `/v1/user/${userId(region, i)}/commands`,
          body: { type: 'SetBio', payload: { bio: `bio #${turn}` } },
        };
    }
  },
};
