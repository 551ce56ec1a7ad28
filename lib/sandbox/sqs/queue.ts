import { randomUUID } from 'node:crypto';
import { InvalidMessageContentsError, InvalidQueueSettingError } from './errors.ts';

/**
 * SQS's largest message: 1 MiB of body since August 2025 (256 KiB before), as large as an EventBridge entry
 * may be, so any event the bus accepts fits in the lane. A queue's MaximumMessageSize (1,024 bytes to
 * this) may set it lower; the default of a queue created without one is this.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A queue's settings as synthesized (`AWS::SQS::Queue`). */
export interface QueueSpec {
  readonly arn: string;
  readonly name: string;
  /** VisibilityTimeout: how long a received message stays hidden before it is handed out again. */
  readonly visibilityTimeoutMs: number;
  /** RedrivePolicy: after `maxReceiveCount` receives without a delete, the message moves to the DLQ. */
  readonly redrive?: { readonly deadLetterArn: string; readonly maxReceiveCount: number };
  /** MaximumMessageSize in bytes (1,024 to 1 MiB; default 1 MiB): SendMessage refuses a larger body. */
  readonly maxMessageBytes?: number;
}

/** A message as ReceiveMessage returns it. */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** ApproximateReceiveCount, this receive included. */
  readonly receiveCount: number;
  /** SentTimestamp (epoch ms). */
  readonly sentAt: number;
  /** ApproximateFirstReceiveTimestamp (epoch ms). */
  readonly firstReceivedAt: number;
}

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receiptHandle?: string;
  invisibleUntil: number;
}

/** What a queue has done so far. */
export interface QueueStats {
  sent: number;
  received: number;
  deleted: number;
  /** Messages moved to the dead-letter queue by the redrive policy. */
  redriven: number;
}

export interface LocalQueueOptions {
  /** Wall clock in epoch ms (injectable: the emulator's tests move time by hand). */
  readonly now?: () => number;
  /** The queue a redrive policy names, by ARN (undefined: the message stays, as SQS keeps it). */
  readonly deadLetterQueue?: (arn: string) => LocalQueue | undefined;
}

/**
 * A standard SQS queue in memory, as much of it as an event source mapping relies on: at-least-once
 * delivery, a received message hidden for the visibility timeout and handed out again unless deleted with
 * its latest receipt handle, and the redrive policy (a message received `maxReceiveCount` times moves to
 * the dead-letter queue on its next receive). Messages are handed out oldest first (SQS: best effort).
 * @example const q = new LocalQueue(spec); q.send('{}'); const [m] = q.receive(10); q.delete(m.receiptHandle);
 */
export class LocalQueue {
  readonly stats: QueueStats = { sent: 0, received: 0, deleted: 0, redriven: 0 };
  private readonly messages: StoredMessage[] = [];
  private readonly now: () => number;

  constructor(
    readonly spec: QueueSpec,
    private readonly options: LocalQueueOptions = {},
  ) {
    if (!(spec.visibilityTimeoutMs >= 0 && spec.visibilityTimeoutMs <= 43_200_000))
      throw new InvalidQueueSettingError(`${spec.name}: VisibilityTimeout must be 0-43200 s`);
    const max = spec.redrive?.maxReceiveCount;
    if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 1000))
      throw new InvalidQueueSettingError(`${spec.name}: maxReceiveCount must be 1-1000, got ${max}`);
    const size = spec.maxMessageBytes;
    if (size !== undefined && !(Number.isInteger(size) && size >= 1024 && size <= MAX_MESSAGE_BYTES))
      throw new InvalidQueueSettingError(
        `${spec.name}: MaximumMessageSize must be 1024-${MAX_MESSAGE_BYTES} bytes, got ${size}`,
      );
    this.now = options.now ?? Date.now;
  }

  /** SendMessage: returns the message id. */
  send(body: string): string {
    if (body.length === 0) throw new InvalidMessageContentsError('The message body must not be empty');
    const bytes = Buffer.byteLength(body, 'utf8');
    const max = this.spec.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    if (bytes > max)
      throw new InvalidMessageContentsError(
        `The message is ${bytes} bytes; ${this.spec.name} accepts at most ${max} (MaximumMessageSize)`,
      );
    const messageId = randomUUID();
    this.messages.push({ messageId, body, sentAt: this.now(), receiveCount: 0, invisibleUntil: 0 });
    this.stats.sent++;
    return messageId;
  }

  /** Visible messages now (ApproximateNumberOfMessages). */
  visibleCount(): number {
    const now = this.now();
    return this.messages.reduce((n, m) => n + (m.invisibleUntil <= now ? 1 : 0), 0);
  }

  /** Received and not yet deleted nor visible again (ApproximateNumberOfMessagesNotVisible). */
  inFlightCount(): number {
    const now = this.now();
    return this.messages.reduce((n, m) => n + (m.invisibleUntil > now ? 1 : 0), 0);
  }

  /** Every message still in the queue, visible or not (for reports and tests). */
  size(): number {
    return this.messages.length;
  }

  /** Bodies of every message still in the queue, oldest first (a dead-letter queue's content). */
  bodies(): string[] {
    return this.messages.map((m) => m.body);
  }

  /**
   * ReceiveMessage of up to `max` visible messages: each is hidden for the visibility timeout and gets a
   * new receipt handle. A message already received `maxReceiveCount` times moves to the dead-letter
   * queue instead of being returned.
   */
  receive(max: number): ReceivedMessage[] {
    const now = this.now();
    const out: ReceivedMessage[] = [];
    for (let i = 0; i < this.messages.length && out.length < max; ) {
      const message = this.messages[i]!;
      if (message.invisibleUntil > now) {
        i++;
        continue;
      }
      if (this.redriven(message, i)) continue;
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.receiptHandle = randomUUID();
      message.invisibleUntil = now + this.spec.visibilityTimeoutMs;
      this.stats.received++;
      out.push({
        messageId: message.messageId,
        receiptHandle: message.receiptHandle,
        body: message.body,
        receiveCount: message.receiveCount,
        sentAt: message.sentAt,
        firstReceivedAt: message.firstReceivedAt,
      });
      i++;
    }
    return out;
  }

  /** Moves a message out to the dead-letter queue when its receives are spent; true if it moved. */
  private redriven(message: StoredMessage, index: number): boolean {
    const redrive = this.spec.redrive;
    if (!redrive || message.receiveCount < redrive.maxReceiveCount) return false;
    const target = this.options.deadLetterQueue?.(redrive.deadLetterArn);
    if (!target) return false;
    this.messages.splice(index, 1);
    target.send(message.body);
    this.stats.redriven++;
    return true;
  }

  /**
   * ChangeMessageVisibility: the message of the latest receipt handle is hidden `timeoutMs` from now
   * (0: visible again at once). False when the handle is not the latest receive's.
   */
  changeVisibility(receiptHandle: string, timeoutMs: number): boolean {
    if (!(timeoutMs >= 0 && timeoutMs <= 43_200_000))
      throw new InvalidQueueSettingError(`VisibilityTimeout must be 0-43200 s, got ${timeoutMs / 1000}`);
    const message = this.messages.find((m) => m.receiptHandle === receiptHandle);
    if (!message) return false;
    message.invisibleUntil = this.now() + timeoutMs;
    return true;
  }

  /**
   * DeleteMessage with a receipt handle: only the latest receive's handle deletes (an older one belongs
   * to a receive whose visibility ran out, and the message may be in someone else's hands). False when
   * nothing was deleted.
   */
  delete(receiptHandle: string): boolean {
    const at = this.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (at < 0) return false;
    this.messages.splice(at, 1);
    this.stats.deleted++;
    return true;
  }
}
