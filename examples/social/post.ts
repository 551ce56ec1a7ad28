import { z } from 'zod';
import { DomainError, type DomainEvent, defineAggregate } from '../../lib/model/index.ts';

export interface PostState {
  readonly author: string | null;
  readonly text: string | null;
  /** Edits folded (the first text included): how many writes this state is the result of. */
  readonly edits: number;
}

const text = z.string().min(1).max(2_000);
const published = z.strictObject({ author: z.string().min(1).max(128), text });

/** An edit of a post this region has not seen published (yet): a definite refusal, nothing written. */
export class PostNotPublished extends DomainError {
  override readonly name = 'PostNotPublished';
  constructor() {
    super(
      'PostNotPublished',
      'the post has not been published (or its publication has not reached this region yet)',
    );
  }
}

function evolvePost(state: PostState, event: DomainEvent): PostState {
  switch (event.type) {
    case 'PostPublished': {
      const payload = published.parse(event.payload);
      return { author: payload.author, text: payload.text, edits: state.edits + 1 };
    }
    case 'PostEdited':
      return { ...state, text: String(event.payload.text), edits: state.edits + 1 };
    default:
      return state;
  }
}

/**
 * A post: important tier (重要), editable by its author from any region (a phone in one country, a laptop
 * in another). Two edits made concurrently in two regions conflict; the platform resolves them with the
 * configured policy, `lww` here: the edit with the highest HLC wins in every region (ties by region id),
 * and the loser is kept in the conflict feed for audit.
 */
export const post = defineAggregate<PostState>({
  name: 'post',
  tier: 'important',
  commands: { Publish: published, Edit: z.strictObject({ text }) },
  events: {
    PostPublished: { version: 1, schema: published },
    PostEdited: { version: 1, schema: z.strictObject({ text: z.string() }) },
  },
  initialState: () => ({ author: null, text: null, edits: 0 }),
  decide(command, state) {
    switch (command.type) {
      case 'Publish':
        return [{ type: 'PostPublished', payload: command.payload }];
      case 'Edit':
        if (state.author === null) throw new PostNotPublished();
        return [{ type: 'PostEdited', payload: command.payload }];
      default:
        return [];
    }
  },
  evolve: evolvePost,
  conflict: { policy: 'lww' },
});
