import { z } from 'zod';
import { FENCING_DEFAULTS } from '../ownership/fencing-budget.ts';

/** Tiers of aggregate types (DESIGN.md section 2). */
export const TIERS = ['core', 'important', 'ordinary'] as const;
/** Conflict policies for concurrent writes of the `important` tier. */
export const CONFLICT_POLICIES = ['lww', 'rule', 'manual'] as const;
/** Global traffic manager routing policies. */
export const GTM_POLICIES = ['latency', 'weighted', 'round-robin', 'least-connections'] as const;

const regionName = z
  .string()
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region name like "eu-west-1"');

export const regionSchema = z.strictObject({
  name: regionName,
  weight: z.number().int().min(0).max(255).default(1),
});

/**
 * An aggregate type's data lifecycle (README "Data lifecycle"): a snapshot every `snapshotEvery` events at
 * the home, and the payloads of core events older than `retentionDays`, covered by a snapshot and applied by
 * every peer moved to the archive (each leaves a stub in its slot).
 */
export const lifecycleSchema = z.strictObject({
  snapshotEvery: z.number().int().min(2).max(1_000_000).optional(),
  retentionDays: z.number().int().min(1).max(36_500).optional(),
  /**
   * `'keep'`: this type's logs may hold archived stubs (it had `retentionDays`): the archive stays wired for
   * every reader (bucket, grants, `s3RegionArchives`, the sandbox's directory), nothing new is archived. What
   * `multiactive plan` asks for when `retentionDays` is dropped; the type stays core while it is set.
   */
  archive: z.literal('keep').optional(),
});

export const aggregateSchema = z
  .strictObject({
    type: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes'),
    tier: z.enum(TIERS),
    conflict: z.enum(CONFLICT_POLICIES).default('lww'),
    lifecycle: lifecycleSchema.optional(),
  })
  .superRefine((aggregate, ctx) => {
    const lifecycle = aggregate.lifecycle;
    // A snapshot covers a prefix of the log in sort-key order; only the core log (one writer, seq order) has
    // prefixes no late event can join. HLC-keyed logs take concurrent events below a snapshot's key.
    if (lifecycle?.snapshotEvery !== undefined && aggregate.tier !== 'core')
      ctx.addIssue({
        code: 'custom',
        path: ['lifecycle', 'snapshotEvery'],
        message: `snapshots need the core tier's seq-ordered log; "${aggregate.type}" is ${aggregate.tier}`,
      });
    if (lifecycle?.retentionDays !== undefined && lifecycle.snapshotEvery === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['lifecycle', 'retentionDays'],
        message: 'needs snapshotEvery: only events covered by a snapshot may leave the hot table',
      });
    // Archiving keeps a stub in each archived slot and needs the core log's seq order (lib/lifecycle).
    if (lifecycle?.retentionDays !== undefined && aggregate.tier !== 'core')
      ctx.addIssue({
        code: 'custom',
        path: ['lifecycle', 'retentionDays'],
        message: `retention needs the core tier's seq-ordered log; "${aggregate.type}" is ${aggregate.tier}`,
      });
    // Stubs are folded only by the core appliers (archive-aware); an important/ordinary applier cannot.
    if (lifecycle?.archive !== undefined && aggregate.tier !== 'core')
      ctx.addIssue({
        code: 'custom',
        path: ['lifecycle', 'archive'],
        message: `an archive kept for stubs needs the core tier's archive-aware fold; "${aggregate.type}" is ${aggregate.tier}`,
      });
  });

export const thresholdsSchema = z.strictObject({
  degradeLagMs: z.number().int().positive().default(5_000),
  recoverLagMs: z.number().int().positive().default(2_000),
  breakerErrorRate: z.number().gt(0).max(1).default(0.5),
  breakerLatencyMs: z.number().int().positive().default(2_000),
  breakerHalfOpenAfterMs: z.number().int().positive().default(10_000),
  heartbeatIntervalMs: z.number().int().positive().default(5_000),
  maxDriftMs: z.number().int().positive().default(60_000),
  maxEventBytes: z
    .number()
    .int()
    .positive()
    .max(400 * 1024, 'a DynamoDB item holds at most 400 KB')
    .default(256 * 1024),
  coreGapTimeoutMs: z.number().int().positive().default(30_000),
});

export const routingSchema = z.strictObject({
  coreMode: z.enum(['forward', 'redirect']).default('forward'),
  forwardTimeoutMs: z.number().int().positive().default(3_000),
  readYourWritesWaitMs: z.number().int().nonnegative().default(1_000),
});

/** The hosted zone id a topology gets when it names none: a sample that `cdk deploy` refuses. */
export const DEFAULT_HOSTED_ZONE_ID = 'Z0000000000000000000';

const ms = (fallback: number) => z.number().int().nonnegative().default(fallback);

/**
 * Core-write fencing: lease, skew margin and the in-flight bounds they must cover (the arithmetic and its
 * invariants: lib/ownership/fencing-budget.ts; checked when the configuration is loaded).
 */
export const fencingSchema = z.strictObject({
  leaseMs: ms(FENCING_DEFAULTS.leaseMs),
  skewMarginMs: ms(FENCING_DEFAULTS.skewMarginMs),
  maxClockOffsetMs: ms(FENCING_DEFAULTS.maxClockOffsetMs),
  appendTimeoutMs: ms(FENCING_DEFAULTS.appendTimeoutMs),
  quorumCopyTimeoutMs: ms(FENCING_DEFAULTS.quorumCopyTimeoutMs),
});

export const gtmSchema = z.strictObject({
  policy: z.enum(GTM_POLICIES).default('latency'),
  domainName: z.string().min(1).default('api.multiactive.example.com'),
  hostedZoneId: z.string().min(1).default(DEFAULT_HOSTED_ZONE_ID),
  hostedZoneName: z.string().min(1).default('multiactive.example.com'),
  healthCheck: z
    .strictObject({
      path: z.string().startsWith('/').default('/health'),
      intervalSeconds: z.union([z.literal(10), z.literal(30)]).default(10),
      failureThreshold: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  autoFailover: z.boolean().default(true),
  /**
   * TTL of the GTM records. After Route 53 withdraws a lost region, clients keep its address for up to
   * this long: it is part of every tier's RTO, hence 15 s rather than the usual 60 s (more DNS queries).
   */
  ttlSeconds: z.number().int().positive().default(15),
  /**
   * The failure detector that starts Failover: a watchdog in every region probes each peer's /health
   * every `intervalSeconds` (a Lambda scheduled each minute ticks for the whole minute); a peer whose
   * probes failed `failureThreshold` times in a row and whose heartbeats are silent is suspected, and a
   * majority of regions suspecting it claims the failover (README "Failure detection").
   */
  watchdog: z
    .strictObject({
      intervalSeconds: z.number().int().min(1).max(30).default(5),
      failureThreshold: z.number().int().min(1).max(10).default(2),
      /** A probe without an answer after this long has failed (Route 53 allows 2 s for a response). */
      probeTimeoutMs: z.number().int().positive().default(2_000),
      /** A claim whose Failover has not drained the region after this long is taken over. */
      claimRetrySeconds: z.number().int().positive().default(120),
    })
    .prefault({}),
});

/** A route's throttle at API Gateway: steady requests per second and burst. */
const throttleSchema = z.strictObject({
  rateLimit: z.number().int().positive(),
  burstLimit: z.number().int().positive(),
});

/**
 * How clients authenticate to the HTTP API. `jwt`: API Gateway's JWT authorizer (an OIDC issuer of the
 * team's, e.g. Cognito); `iam`: SigV4 with IAM credentials. There is no unauthenticated mode.
 */
export const apiAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('jwt'),
    /** The issuer URL (`iss`); API Gateway reads its keys from `<issuer>/.well-known/openid-configuration`. */
    issuer: z.url({ protocol: /^https$/ }),
    /** Accepted `aud` (or `client_id`) values. */
    audience: z.array(z.string().min(1)).min(1),
  }),
  z.strictObject({ type: z.literal('iam') }),
]);

export const apiSchema = z.strictObject({
  auth: apiAuthSchema.default({
    type: 'jwt',
    issuer: 'https://auth.multiactive.example.com/',
    audience: ['multiactive-api'],
  }),
  /**
   * Per-route throttles. Each route has its own bucket, so a flood on `/v1` (answered 429 at the
   * gateway) cannot take `/health`'s: otherwise a flood would fail the health checks and start a failover.
   */
  throttle: z
    .strictObject({
      v1: throttleSchema.default({ rateLimit: 1_000, burstLimit: 2_000 }),
      internal: throttleSchema.default({ rateLimit: 1_000, burstLimit: 2_000 }),
      health: throttleSchema.default({ rateLimit: 50, burstLimit: 100 }),
    })
    .prefault({}),
  /**
   * Reserved concurrency of the health function, so that no other function can take every instance
   * from it. Unset by default: new accounts often have a concurrency limit of 10, below what a
   * reservation needs.
   */
  healthReservedConcurrency: z.number().int().positive().optional(),
});

/** The Repair runbook's nightly run (EventBridge Scheduler, deployed by the CDK app). */
export const repairSchema = z.strictObject({
  /** Daily start time, `HH:MM` in UTC (off-peak); `null` deploys no schedule (Repair on demand only). */
  schedule: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a UTC time of day "HH:MM", e.g. "03:30"')
    .nullable()
    .default('03:30'),
  /**
   * The region whose Repair machine the schedule starts (default: the first region). One run compares
   * every region, so one schedule covers the whole topology.
   */
  scheduleRegion: regionName.optional(),
});

/** Who hears about alarms, and what operational logs may contain. */
export const monitoringSchema = z.strictObject({
  /** An e-mail subscription on every alarm topic (confirmed by the recipient); null: none, synth warns. */
  alarmEmail: z.email().nullable().default(null),
  /**
   * Step Functions logs include each state's input and output. Those carry partition maps, aggregate ids
   * and replayed events, so production environments keep this off.
   */
  logExecutionData: z.boolean().default(false),
});

/** One tier's declared recovery objectives: what the business asks of a region loss. */
function tierObjectives(defaults: { rtoSeconds: number; rpoSeconds: number }) {
  return z
    .strictObject({
      /** Region loss -> this tier's writes accepted again, in seconds. */
      rtoSeconds: z.number().positive().default(defaults.rtoSeconds),
      /** Acknowledged writes that may be lost, as seconds of replication (0 = none). */
      rpoSeconds: z.number().nonnegative().default(defaults.rpoSeconds),
    })
    .prefault({});
}

/**
 * Declared RTO/RPO per tier, checked by `multiactive readiness` against what the configuration can achieve
 * and by drill reports against what was measured.
 */
export const objectivesSchema = z.strictObject({
  core: tierObjectives({ rtoSeconds: 300, rpoSeconds: 0 }),
  important: tierObjectives({ rtoSeconds: 120, rpoSeconds: 30 }),
  ordinary: tierObjectives({ rtoSeconds: 120, rpoSeconds: 300 }),
});

/**
 * Cross-partition sagas (Try-Confirm-Cancel, e.g. transfers): how long a reservation holds, when an idle
 * saga is resumed by the recovery sweep, how often the sweep runs and how long `?wait=true` waits.
 */
export const sagasSchema = z.strictObject({
  /** A Try's reservation (a hold) expires this long after the saga began; later, only Cancel is decided. */
  holdMs: z.number().int().positive().default(60_000),
  /** A saga that made no progress for this long is resumed by the sweep of its home region. */
  resumeAfterMs: z.number().int().positive().default(30_000),
  /** The sweep's period in every region (EventBridge schedules run at most once a minute). */
  sweepIntervalSeconds: z.number().int().min(60).default(60),
  /** `?wait=true`: how long the API waits for the outcome before answering 202. */
  waitMs: z.number().int().nonnegative().max(25_000).default(5_000),
});

/**
 * AWS Backup plan of a cell's tables. Replication copies a logical corruption to every region within a
 * second, so the peers are no backup: a daily recovery point kept `retentionDays`, copied to `copyTo`
 * (default: the next region of the topology), is what a restore to before the corruption starts from.
 */
export const backupSchema = z.strictObject({
  /** An AWS Backup schedule expression (UTC), e.g. `cron(0 3 * * ? *)`. */
  schedule: z
    .string()
    .regex(/^cron\([^()]+\)$/, 'must be a schedule expression like "cron(0 3 * * ? *)"')
    .default('cron(0 3 * * ? *)'),
  retentionDays: z.number().int().min(1).max(36_500).default(35),
  /** The region the recovery points are copied to; another configured region. */
  copyTo: regionName.optional(),
});

/**
 * The batched apply lane of the ordinary tier (README "Tiered pipelines"): replication events of ordinary
 * aggregates go bus rule -> SQS -> applier in batches instead of one invocation per event. An event waits
 * at most `maxBatchingWindowMs` (plus the queue's own latency) longer than on the real-time path.
 */
export const ordinaryLaneSchema = z
  .strictObject({
    /** false: ordinary events take the real-time path (one applier invocation per event) like the others. */
    enabled: z.boolean().default(true),
    /**
     * true: the way to turn the lane off without losing what it holds (README "Turning the lane off"):
     * the lane rule goes (ordinary events take the real-time path), its queue, dead letters and mapping
     * stay, so the applier drains the queue; once both queues are empty, `enabled: false` removes them
     * from the stack (retained in the account, deleted by the operator).
     */
    draining: z.boolean().default(false),
    /** Records per applier invocation at most (Lambda's SQS mapping: 1-10,000; above 10 needs a window). */
    batchSize: z.number().int().min(1).max(10_000).default(100),
    /**
     * How long the mapping gathers records before it invokes with fewer than batchSize (0-300 s, whole
     * seconds: Lambda's MaximumBatchingWindowInSeconds). The trade-off is lag against invocations: an
     * ordinary event waits up to the window, and a region receiving r ordinary events/s pays about
     * 1,000 / min(batchSize, r x window) invocations per 1,000. 5 s fills a batch of 100 from 20 events/s
     * (one poller) or 100 events/s (Lambda's five, README "Tiered pipelines"), and caps the lane at one
     * invocation per poller every 5 s when traffic is light; logs and statistics can wait 5 s.
     */
    maxBatchingWindowMs: z
      .number()
      .int()
      .min(0)
      .max(300_000)
      .multipleOf(1_000, 'must be whole seconds (Lambda takes MaximumBatchingWindowInSeconds)')
      .default(5_000),
    /**
     * Lambda invocations of the lane at once at most (the mapping's ScalingConfig.MaximumConcurrency,
     * 2-1,000): ordinary is the lowest priority under backlog, so a deep lane queue never takes the
     * executions the real-time applier needs for core and important events.
     */
    maxConcurrency: z.number().int().min(2).max(1_000).default(5),
    /** Receives of a message before SQS moves it to the lane's dead-letter queue. */
    maxReceiveCount: z.number().int().min(1).max(1_000).default(5),
  })
  .refine((lane) => lane.batchSize <= 10 || lane.maxBatchingWindowMs > 0, {
    path: ['maxBatchingWindowMs'],
    message: 'a batchSize above 10 needs a batching window (Lambda refuses the mapping otherwise)',
  });

export const topologySchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  regions: z.array(regionSchema).min(2, 'at least two regions are needed for active-active'),
  partitions: z.number().int().min(1).max(65_536).default(256),
  aggregates: z.array(aggregateSchema).min(1),
  core: z.strictObject({ ack: z.enum(['local', 'quorum']).default('local') }).prefault({}),
  thresholds: thresholdsSchema.prefault({}),
  routing: routingSchema.prefault({}),
  fencing: fencingSchema.prefault({}),
  gtm: gtmSchema.prefault({}),
  api: apiSchema.prefault({}),
  repair: repairSchema.prefault({}),
  sagas: sagasSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  /** One-way latency in ms between region pairs, keyed "a|b" (either order); used for "nearest region". */
  latencyMs: z.record(z.string(), z.number().nonnegative()).default({}),
  objectives: objectivesSchema.prefault({}),
  ordinaryLane: ordinaryLaneSchema.prefault({}),
  tables: z
    .strictObject({
      deletionProtection: z.boolean().default(true),
      pointInTimeRecovery: z.boolean().default(true),
      /**
       * AWS Backup of the cell's tables with a copy in another region; `null` turns it off. Unset, it
       * follows `deletionProtection`: on where the data is protected (prod-like), off where it is not.
       */
      backup: backupSchema.nullable().optional(),
    })
    .prefault({})
    .transform(({ backup, ...tables }) => ({
      ...tables,
      backup: backup === undefined ? (tables.deletionProtection ? backupSchema.parse({}) : null) : backup,
    })),
});

/** A topology as written in a config file (defaults not yet applied). */
export type TopologyInput = z.input<typeof topologySchema>;
/** A validated topology with every default filled in. */
export type Topology = z.output<typeof topologySchema>;
export type RegionConfig = Topology['regions'][number];
export type AggregateConfig = Topology['aggregates'][number];
export type LifecycleConfig = NonNullable<AggregateConfig['lifecycle']>;
export type Tier = (typeof TIERS)[number];
export type Objectives = Topology['objectives'];
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];
export type ApiAuthConfig = Topology['api']['auth'];
export type BackupConfig = z.output<typeof backupSchema>;
export type OrdinaryLaneConfig = Topology['ordinaryLane'];
