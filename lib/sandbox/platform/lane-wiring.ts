import type { SQSEvent } from 'aws-lambda';
import type { VisibilityChange } from '../../replication/index.ts';
import type { StackEnvironment } from '../cdk/intrinsics.ts';
import { queuesOf, sqsMappingsOf } from '../cdk/queues.ts';
import type { CfnTemplate } from '../cdk/templates.ts';
import {
  changeVisibilityCall,
  deleteMessageCall,
  type IamEnforcement,
  invokeCall,
  receiveMessageCall,
} from '../iam/index.ts';
import { LaneNotDrainedError, LocalQueue, LocalSqsMapping } from '../sqs/index.ts';
import { functionNameOf, localInvoker } from './invoke.ts';
import type { SandboxRegion } from './region.ts';

/** How often a mapping polls its queue (Lambda long-polls; this stands in for the long poll's return). */
const POLL_INTERVAL_MS = 20;

/** Beyond the lane's batching window, what `settle` allows the batch itself (a loaded 2-core machine). */
export const LANE_SETTLE_MARGIN_MS = 3_000;

/**
 * The SQS queues and the SQS event source mappings of the synthesized templates (the ordinary lane):
 * queues with their visibility timeout and redrive policy, mappings with their batch size, batching window
 * and partial batch responses, bound to the region's local function. The mapping reads and deletes as the
 * function's role (IAM-checked); its invocations are counted as `<region>/esm/<queue>` (Lambda's poller
 * needs no resource policy).
 */
export class SandboxQueues {
  private readonly queues = new Map<string, LocalQueue>();
  private readonly mappings: Array<{ region: SandboxRegion; mapping: LocalSqsMapping; queue: LocalQueue }> =
    [];

  constructor(
    private readonly options: {
      env: string;
      iam?: IamEnforcement;
      log: (line: string) => void;
      /** Scales the redrive's ChangeMessageVisibility (its back-off), as the sandbox scales AWS's timers. */
      timeScale?: number;
    },
  ) {}

  /** The queue of an ARN, if a template declares it. */
  queue(arn: string): LocalQueue | undefined {
    return this.queues.get(arn);
  }

  /** Creates a region's queues and mappings from its template (call for every region before `start`). */
  addRegion(region: SandboxRegion, template: CfnTemplate, env: StackEnvironment): void {
    for (const spec of queuesOf(template, env))
      this.queues.set(spec.arn, new LocalQueue(spec, { deadLetterQueue: (arn) => this.queues.get(arn) }));
    for (const spec of sqsMappingsOf(template, env)) {
      const queue = this.queues.get(spec.queueArn);
      if (!queue) throw new Error(`mapping of ${spec.functionName} names an unknown queue ${spec.queueArn}`);
      const invoke = localInvoker({
        functions: region.functions,
        env: this.options.env,
        region: region.name,
        functionName: functionNameOf(spec.functionName),
      });
      const { iam } = this.options;
      const short = spec.functionName.replace(`multiactive-${this.options.env}-`, '');
      const label = `${region.name}/esm/${queue.spec.name}`;
      const functionArn = `arn:aws:lambda:${region.name}:${env.account}:function:${spec.functionName}`;
      const mapping = new LocalSqsMapping({
        spec,
        queue,
        invoke: async (event: SQSEvent) => {
          iam?.usage.record({
            service: 'lambda',
            caller: label,
            operation: invokeCall(functionArn).operation,
            items: 1,
            bytes: Buffer.byteLength(JSON.stringify(event)),
            denied: false,
          });
          return invoke(event);
        },
        ...(iam
          ? {
              authorize: (operation, items) =>
                iam.require(
                  iam.functionCaller(region.name, this.options.env, short),
                  operation === 'ReceiveMessage'
                    ? receiveMessageCall(spec.queueArn, items)
                    : deleteMessageCall(spec.queueArn, items),
                  0,
                ),
            }
          : {}),
        onFailure: (error) => this.options.log(`${label}: ${String(error)}`),
      });
      this.mappings.push({ region, mapping, queue });
    }
  }

  /**
   * ChangeMessageVisibility by a region's function (the applier backing off failed records), authorized as
   * its role, applier-failures' waits scaled by `timeScale` (`--fast`: a 2 s back-off is 0.2 s); a stale
   * receipt handle changes nothing, as in SQS.
   */
  async changeVisibility(
    region: string,
    queueArn: string,
    changes: readonly VisibilityChange[],
  ): Promise<void> {
    const queue = this.queues.get(queueArn);
    if (!queue) throw new Error(`no queue ${queueArn}`);
    const { iam } = this.options;
    if (iam)
      await iam.require(
        iam.functionCaller(region, this.options.env, 'applier'),
        changeVisibilityCall(queueArn, changes.length),
        0,
      );
    // applier-failures' back-off (2 s doubling to 5 minutes, 60 receives) is an AWS timer like Lambda's retries
    // before it. The ordinary lane's stays unscaled: its 5 receives ride out a chaos partition only at 2-16 s.
    const scale = queue.spec.name.endsWith('-applier-failures') ? (this.options.timeScale ?? 1) : 1;
    for (const change of changes) queue.changeVisibility(change.receiptHandle, change.seconds * 1000 * scale);
  }

  private readonly held = new Set<string>();

  /**
   * Holds (true) or releases (false) a region's mappings: held, they poll nothing and the queue only fills,
   * as while the region was out (a bench builds a returning region's lane backlog this way).
   */
  hold(region: string, held: boolean): void {
    if (held) this.held.add(region);
    else this.held.delete(region);
  }

  /** Starts polling (a mapping of a region that is down or held skips its polls until it is back). */
  start(): void {
    for (const { region, mapping } of this.mappings)
      mapping.start(POLL_INTERVAL_MS, () => !region.isDown && !this.held.has(region.name));
  }

  /**
   * Waits until every mapped queue of a region that is up and not held is empty with no batch in flight;
   * at the deadline throws `LaneNotDrainedError` naming what each queue still held.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const undrained = this.mappings
        .filter(({ region, mapping, queue }) => {
          const waitedFor = !region.isDown && !this.held.has(region.name);
          return waitedFor && (queue.size() > 0 || mapping.busy() > 0);
        })
        .map(({ region, mapping, queue }) => ({
          region: region.name,
          queue: queue.spec.name,
          queued: queue.size(),
          inFlight: mapping.busy(),
        }));
      if (undrained.length === 0) return;
      if (Date.now() >= deadline) throw new LaneNotDrainedError(timeoutMs, undrained);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  /**
   * `drain`, given at least the longest batching window + LANE_SETTLE_MARGIN_MS: a queue holding less than a
   * batch is invoked only once its window ends (as on AWS), so a shorter wait (what a caller's quiesce
   * budget has left after the streams) fails on a lane that is merely waiting for its window.
   */
  settle(timeoutMs: number): Promise<void> {
    const window = Math.max(0, ...this.mappings.map(({ mapping }) => mapping.batchingWindowMs));
    return this.drain(Math.max(timeoutMs, window + LANE_SETTLE_MARGIN_MS));
  }

  /** Every queue of the templates (all regions): messages visible, in flight, and sent so far. */
  depths(): Array<{ region: string; name: string; visible: number; inFlight: number; sent: number }> {
    return [...this.queues.values()].map((queue) => ({
      region: queue.spec.arn.split(':')[3] ?? '',
      name: queue.spec.name,
      visible: queue.visibleCount(),
      inFlight: queue.inFlightCount(),
      sent: queue.stats.sent,
    }));
  }

  /** Mapping and queue counters, for reports and benchmarks. */
  stats() {
    return this.mappings.map(({ region, mapping, queue }) => ({
      region: region.name,
      queue: queue.spec.name,
      ...mapping.stats,
      // Plain data (a snapshot, JSON-able): records per invocation -> invocations.
      batchSizes: Object.fromEntries([...mapping.stats.batchSizes].sort(([a], [b]) => a - b)),
      queued: queue.size(),
      redriven: queue.stats.redriven,
    }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.mappings.map(({ mapping }) => mapping.stop()));
  }
}
