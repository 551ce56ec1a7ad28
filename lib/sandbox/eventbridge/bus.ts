import { Backoff, ConcurrencyLimit, type DeliveryContext, deliverWithRetry } from './delivery.ts';
import { MAX_ENTRIES_PER_CALL, toEvent } from './entries.ts';
import { EventBusClosedError, InvalidRuleError, PutEventsValidationError } from './errors.ts';
import { type CompiledNode, nodeMatches, validatePattern } from './pattern.ts';
import type {
  BusTarget,
  EventBridgeEvent,
  EventBusStats,
  PutEventsEntry,
  PutEventsResult,
  PutEventsResultEntry,
  RuleInput,
} from './types.ts';

/** Options of a LocalEventBus; every field has a default. */
export interface LocalEventBusOptions {
  /** Bus name (`default`); entries naming another bus are refused. */
  name?: string;
  region?: string;
  account?: string;
  /** First retry delay (1000 ms); doubles per retry with jitter. Tests pass a few ms. */
  retryBaseDelayMs?: number;
  /** Cap of the retry delay (60 s). */
  retryMaxDelayMs?: number;
  now?: () => number;
  random?: () => number;
  /** Called for events given up with no dead letter: AWS would drop them, the sandbox reports them. */
  onDropped?: (event: EventBridgeEvent, targetId: string, error: unknown) => void;
  /** Deliveries in flight per target at most (a Lambda target's concurrency); default 16. */
  maxConcurrentDeliveries?: number;
}

/** AWS allows at most five targets per rule. */
const MAX_TARGETS_PER_RULE = 5;
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

interface Rule {
  name: string;
  pattern: CompiledNode;
  targets: BusTarget[];
}

function checkRule(input: RuleInput): CompiledNode {
  if (!RULE_NAME.test(input.name)) throw new InvalidRuleError(input.name, 'names are 1-64 of [.-_A-Za-z0-9]');
  if (input.targets.length > MAX_TARGETS_PER_RULE) {
    throw new InvalidRuleError(input.name, `at most ${MAX_TARGETS_PER_RULE} targets per rule`);
  }
  const ids = new Set(input.targets.map((t) => t.id));
  if (ids.size !== input.targets.length) throw new InvalidRuleError(input.name, 'target ids must be unique');
  return validatePattern(input.eventPattern);
}

/**
 * An in-process EventBridge bus: rules with event patterns, asynchronous delivery to targets with retries,
 * backoff and dead letters, and PutEvents' request and entry validation.
 * @example
 * const bus = new LocalEventBus({ region: 'eu-west-1', retryBaseDelayMs: 5 });
 * bus.putRule({ name: 'to-peer', eventPattern: { source: ['orders'] }, targets: [{ id: 'peer', deliver }] });
 * await bus.putEvents([{ Source: 'orders', DetailType: 'OrderPlaced', Detail: '{"id":1}' }]);
 */
export class LocalEventBus {
  readonly name: string;
  readonly region: string;
  readonly account: string;
  private readonly rules = new Map<string, Rule>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly backoff = new Backoff();
  private readonly limits = new WeakMap<BusTarget, ConcurrencyLimit>();
  private readonly ctx: DeliveryContext;
  private closed = false;

  constructor(options: LocalEventBusOptions = {}) {
    this.name = options.name ?? 'default';
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '123456789012';
    this.ctx = {
      busName: this.name,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 1000,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 60_000,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      onDropped: options.onDropped ?? (() => {}),
      limitFor: (target) => {
        let limit = this.limits.get(target);
        if (!limit) {
          limit = new ConcurrencyLimit(options.maxConcurrentDeliveries ?? 16);
          this.limits.set(target, limit);
        }
        return limit;
      },
      stats: {
        accepted: 0,
        rejected: 0,
        matched: 0,
        delivered: 0,
        retries: 0,
        deadLettered: 0,
        functionRetries: 0,
        functionFailures: 0,
        dropped: 0,
        inFlight: 0,
      },
    };
  }

  /** The bus ARN, as other regions' rules would name it as a target. */
  get arn(): string {
    return `arn:aws:events:${this.region}:${this.account}:event-bus/${this.name}`;
  }

  /** Creates or replaces a rule and its targets (PutRule + PutTargets); throws on an invalid pattern. */
  putRule(input: RuleInput): void {
    this.assertOpen();
    const pattern = checkRule(input);
    this.rules.set(input.name, { name: input.name, pattern, targets: [...input.targets] });
  }

  /** Deletes a rule; returns whether it existed. Deliveries already scheduled still complete. */
  removeRule(name: string): boolean {
    return this.rules.delete(name);
  }

  /** Names of the rules on the bus. */
  listRules(): string[] {
    return [...this.rules.keys()];
  }

  /** PutEvents: validates the call and each entry, then schedules deliveries without waiting for them. */
  async putEvents(entries: PutEventsEntry[]): Promise<PutEventsResult> {
    this.assertOpen();
    if (entries.length < 1 || entries.length > MAX_ENTRIES_PER_CALL) {
      const bound =
        entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES_PER_CALL}`;
      throw new PutEventsValidationError(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${bound}`,
      );
    }
    const now = new Date(this.ctx.now());
    const results: PutEventsResultEntry[] = [];
    for (const entry of entries) {
      const event = toEvent(entry, this, now);
      if ('ErrorCode' in event) {
        this.ctx.stats.rejected++;
        results.push(event);
        continue;
      }
      this.ctx.stats.accepted++;
      this.dispatch(event);
      results.push({ EventId: event.id });
    }
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  private dispatch(event: EventBridgeEvent): void {
    for (const rule of this.rules.values()) {
      if (!nodeMatches(rule.pattern, event)) continue;
      for (const target of rule.targets) this.track(target, event);
    }
  }

  private track(target: BusTarget, event: EventBridgeEvent): void {
    this.ctx.stats.matched++;
    // setImmediate: the target runs after putEvents has returned, as with the real service.
    const job = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      deliverWithRetry(this.ctx, this.backoff, target, event),
    );
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  }

  /** Resolves once every scheduled delivery (including retries and dead letters) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Counters since the bus was created. */
  stats(): EventBusStats {
    return { ...this.ctx.stats, inFlight: this.inFlight.size };
  }

  /**
   * Refuses new calls, cuts pending retry waits short (those events go to their dead letter with an
   * EventBusClosedError) and waits for running deliveries. Leaves no timer behind.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.backoff.cancelAll();
    await this.drain();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventBusClosedError(this.name);
  }
}
