import type { ChaosClientContext, ChaosRequest } from '../../../lib/sandbox/chaos/plugin.ts';
import { countryOf } from '../countries.ts';
import { REACTION_KINDS } from '../reactions.ts';

/** A user and their post, homed in the region nearest to the user's country. */
export interface Member {
  readonly user: string;
  readonly post: string;
  readonly region: string;
}

/** What the chaos clients share: the members (users with one post each), per region. */
export interface SocialWorkload {
  readonly members: readonly Member[];
}

/** Members per region (default 2). */
const MEMBERS_PER_REGION = 2;
/** Shares of the client's operation mix: edits of a post, reactions; the rest sets a bio. */
const MIX = { edit: 0.4, react: 0.45 } as const;
/** Share of edits an author makes from another region (travelling, a second device): concurrent edits. */
const AWAY = 0.3;

const pick = <T>(random: () => number, list: readonly T[]): T =>
  list[Math.floor(random() * list.length)] as T;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const command = (key: string, type: string, payload: Record<string, unknown>) => ({
  method: 'POST' as const,
  path: `/v1/${key}/commands`,
  body: { type, payload },
});

/** Sends a setup request until it is acknowledged (each try is its own operation); false at the deadline. */
async function untilOk(ctx: ChaosClientContext, request: ChaosRequest): Promise<boolean> {
  while (ctx.running()) {
    if ((await ctx.send(request)).outcome === 'ok') return true;
    await sleep(200);
  }
  return false;
}

/** Registers every member from their own region and publishes their post (before faults start). */
export async function prepareSocial(ctx: ChaosClientContext) {
  const members = ctx.regions.flatMap((region) =>
    Array.from({ length: MEMBERS_PER_REGION }, (_, i) => ({
      user: `u-${region}-${i}`,
      post: `p-${region}-${i}`,
      region,
    })),
  );
  await Promise.all(
    members.map(async (m, i) => {
      const handle = `${m.region}-${i}`;
      await untilOk(ctx, {
        f: 'write',
        key: `user/${m.user}`,
        value: handle,
        from: m.region,
        ...command(`user/${m.user}`, 'Register', { handle, country: countryOf(m.region) }),
      });
      const text = `first post of ${m.user}`;
      await untilOk(ctx, {
        f: 'write',
        key: `post/${m.post}`,
        value: text,
        from: m.region,
        ...command(`post/${m.post}`, 'Publish', { author: m.user, text }),
      });
    }),
  );
  const workload: SocialWorkload = { members };
  return { workload, ids: members.flatMap((m) => [m.user, m.post]) };
}

/** The next request of a client near `ctx.region`; `n` makes every text it writes unique. */
function nextRequest(ctx: ChaosClientContext, workload: SocialWorkload, n: number): ChaosRequest {
  const { random } = ctx;
  const local = workload.members.filter((m) => m.region === ctx.region);
  const roll = random();
  if (roll < MIX.edit) {
    const m = pick(random, random() < AWAY || local.length === 0 ? workload.members : local);
    const text = `${ctx.process}#${n}`;
    return { f: 'write', key: `post/${m.post}`, value: text, ...command(`post/${m.post}`, 'Edit', { text }) };
  }
  if (roll < MIX.edit + MIX.react) {
    const m = pick(random, workload.members);
    const kind = pick(random, REACTION_KINDS);
    return {
      f: 'append',
      key: `reactions/${m.post}`,
      value: kind,
      ...command(`reactions/${m.post}`, 'React', { kind, by: ctx.process }),
    };
  }
  const m = pick(random, local.length > 0 ? local : workload.members);
  const bio = `${ctx.process}#${n}`;
  return { f: 'write', key: `user/${m.user}`, value: bio, ...command(`user/${m.user}`, 'SetBio', { bio }) };
}

/** A client near `ctx.region`: edits posts, reacts to them and sets bios until the run's time is up. */
export async function socialClient(ctx: ChaosClientContext, workload: SocialWorkload): Promise<void> {
  for (let n = 0; ctx.running(); n++) {
    await ctx.send(nextRequest(ctx, workload, n));
    await sleep(60 * (0.5 + ctx.random()));
  }
}

/**
 * The run's last edits: every post edited at once from every region. Each post's final text is then decided
 * by last-writer-wins between concurrent edits, which the regions receive in different orders (their own
 * first): a replica that folds in arrival order keeps a text other than the highest-HLC edit's.
 */
export async function socialFinale(ctx: ChaosClientContext, workload: SocialWorkload): Promise<void> {
  await Promise.all(
    workload.members.flatMap((m) =>
      ctx.regions.map((from) => {
        const text = `finale of ${m.post} from ${from}`;
        return ctx.send({
          f: 'write',
          key: `post/${m.post}`,
          value: text,
          from,
          ...command(`post/${m.post}`, 'Edit', { text }),
        });
      }),
    ),
  );
}
