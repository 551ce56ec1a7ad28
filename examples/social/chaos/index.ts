import { defineChaosPlugin } from '../../../lib/sandbox/chaos/plugin.ts';
import { checkSocial } from './checker.ts';
import { prepareSocial, socialClient, socialFinale } from './workload.ts';

export { checkSocial } from './checker.ts';
export { type Member, prepareSocial, type SocialWorkload, socialClient, socialFinale } from './workload.ts';

/**
 * The social app's chaos plug-in: members near every region register and publish a post, then clients
 * edit posts (some from abroad, so edits conflict), react to them and set bios while the nemesis injects
 * faults; the finale edits every post from every region at once (last-writer-wins decides each post's
 * final text); after heal, `checkSocial` checks the app's invariants in every region.
 */
export const socialChaos = defineChaosPlugin({
  name: 'social',
  clientsPerRegion: 3,
  prepare: prepareSocial,
  client: socialClient,
  finale: socialFinale,
  check: checkSocial,
});
