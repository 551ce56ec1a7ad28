export { checkSocial, type Member, type SocialWorkload, socialChaos } from './chaos/index.ts';
export { countryOf } from './countries.ts';
export { socialDemo } from './demo.ts';
export { PostNotPublished, type PostState, post } from './post.ts';
export { REACTION_KINDS, type ReactionsState, reactions } from './reactions.ts';
export { type UserState, user } from './user.ts';
