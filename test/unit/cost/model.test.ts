import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology, type Topology } from '../../../lib/config/index.ts';
import { capacity } from '../../../lib/cost/capacity.ts';
import { loadPriceList, loadQuotaList } from '../../../lib/cost/catalog.ts';
import { CostInputError, MissingPriceError } from '../../../lib/cost/errors.ts';
import { regionFlows } from '../../../lib/cost/flows.ts';
import { type Inventory, inventoryOf } from '../../../lib/cost/inventory.ts';
import { modelWorkload, monthlyCost } from '../../../lib/cost/model.ts';
import { priceMonth } from '../../../lib/cost/pricing.ts';
import { defaultProfile, parseProfile } from '../../../lib/cost/profile.ts';
import { costReport } from '../../../lib/cost/report.ts';
import { awsRuntime } from '../../../lib/cost/runtime.ts';
import { type SagaShape, sagaShapes } from '../../../lib/cost/sagas.ts';
import { SECONDS_PER_MONTH, usageLine } from '../../../lib/cost/usage-types.ts';

const prod = bank.topology('prod');
const dev = bank.topology('dev');
const prices = loadPriceList();
const quotas = loadQuotaList();
/** The example bank's sagas (transfers), as the CLI reads them from its application. */
const sagas = sagaShapes(bank.sagas);
const runtime = (t: Topology) => awsRuntime(t, quotas, sagas);
/** A small stack set: two alarms (one metric math over two metrics) per cell, one HTTPS fast health check. */
const templates = (t: Topology) =>
  Object.fromEntries([
    ...t.regions.map((r) => [
      `multiactive-${t.name}-${r.name}`,
      {
        Resources: {
          A: { Type: 'AWS::CloudWatch::Alarm', Properties: { Period: 60 } },
          B: {
            Type: 'AWS::CloudWatch::Alarm',
            Properties: {
              Metrics: [
                { Id: 'e', Expression: 'a+b' },
                { Id: 'a', MetricStat: { Period: 10 } },
                { Id: 'b', MetricStat: { Period: 10 } },
              ],
            },
          },
          K: { Type: 'AWS::KMS::Key' },
          Q: { Type: 'AWS::SQS::Queue' },
        },
      },
    ]),
    [
      `multiactive-${t.name}-global`,
      {
        Resources: {
          H: {
            Type: 'AWS::Route53::HealthCheck',
            Properties: { HealthCheckConfig: { Type: 'HTTPS', RequestInterval: 10 } },
          },
        },
      },
    ],
  ]);
const inventory = (t: Topology): Inventory => inventoryOf(t, templates(t));

describe('prices and profiles', () => {
  it('prices a usage line at the list price of its region: a write unit a second for a month', () => {
    const line = usageLine(
      {
        region: 'eu-west-1',
        fn: 'api',
        service: 'dynamodb',
        operation: 'dynamodb:PutItem',
        source: 'x',
        tier: 'core',
      },
      { requests: 1, writeUnits: 1 },
    );
    const [priced] = priceMonth({
      topology: prod,
      usage: [line],
      storage: [],
      inventory: {
        regions: [],
        global: {
          ...inventory(prod).global,
          healthChecks: 0,
          alarmMetrics: 0,
          dashboards: 0,
          kmsKeys: 0,
          hostedZones: 0,
        },
        stacks: [],
      },
      prices,
    }).filter((l) => l.service === 'dynamodb');
    const price = prices.get('eu-west-1', 'dynamodb.writeRequestUnits');
    expect(priced?.quantity).toBe(SECONDS_PER_MONTH);
    expect(priced?.usd).toBeCloseTo((SECONDS_PER_MONTH * price.usd) / price.per, 6);
  });

  it('takes an override file entry by entry, and lists every problem of a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const base = { schema: 1, version: 'mine', pricesAsOf: '2026-11-01', notice: 'our negotiated prices' };
    const entry = {
      usd: 0.5,
      per: 1_000_000,
      unit: 'WRU',
      source: 'https://example.com/contract',
      basis: 'confirmed',
    };
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ ...base, regions: { 'eu-west-1': { 'dynamodb.writeRequestUnits': entry } } }),
    );
    const mine = loadPriceList(good);
    expect(mine.get('eu-west-1', 'dynamodb.writeRequestUnits').usd).toBe(0.5);
    expect(mine.get('eu-west-1', 'dynamodb.readRequestUnits')).toEqual(
      prices.get('eu-west-1', 'dynamodb.readRequestUnits'),
    );
    expect(mine.asOf).toBe('2026-11-01');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...base, regions: { 'eu-west-1': { 'dynamodb.writes': entry } } }));
    expect(() => loadPriceList(bad)).toThrow(CostInputError);
    expect(() => loadPriceList(bad)).toThrow(/unknown price "dynamodb.writes"/);
    expect(() => prices.require(['eu-central-1'])).toThrow(MissingPriceError);
  });

  it('refuses a profile naming an aggregate type or region the topology does not have', () => {
    expect(() =>
      parseProfile(
        { aggregates: { invoice: { writesPerSecond: 1 } }, regionShare: { 'mars-1': 1 } },
        prod,
        sagas,
        'p.json',
      ),
    ).toThrow(/aggregates.invoice: no aggregate type "invoice" in prod; regionShare.mars-1/);
  });
});

describe('flows', () => {
  it('executes every core write at a home: forwarded ones leave one region and arrive at another', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.1, max: 500, noNaN: true }),
        (f, w) => {
          const profile = parseProfile(
            { aggregates: { account: { writesPerSecond: w } }, coreForwardShare: f },
            prod,
            sagas,
            'p',
          );
          const flows = regionFlows(prod, profile, runtime(prod));
          const account = flows.map((r) => r.types.find((t) => t.type === 'account')!);
          const sum = (pick: (t: (typeof account)[number]) => number) =>
            account.reduce((n, t) => n + pick(t), 0);
          expect(sum((t) => t.writesExecuted)).toBeCloseTo(w, 6);
          expect(sum((t) => t.forwardedOut)).toBeCloseTo(
            sum((t) => t.forwardedIn),
            6,
          );
          expect(sum((t) => t.forwardedOut)).toBeCloseTo(w * f, 6);
        },
      ),
    );
  });

  it('copies each core command to every peer under quorum ack, and never under local ack', () => {
    const profile = parseProfile({ aggregates: { account: { writesPerSecond: 30 } } }, prod, sagas, 'p');
    for (const flow of regionFlows(prod, profile, runtime(prod))) {
      const account = flow.types.find((t) => t.type === 'account')!;
      expect(account.copiesOut).toBeCloseTo(account.writesExecuted * 2, 9);
      expect(account.eventsApplied).toBe(0);
      expect(account.appliedAfterCopy).toBeCloseTo(20, 9);
    }
    for (const flow of regionFlows(dev, parseProfile(profile, dev, sagas, 'p'), runtime(dev))) {
      const account = flow.types.find((t) => t.type === 'account')!;
      expect(account.copiesOut).toBe(0);
      expect(account.eventsApplied).toBeCloseTo(20, 9);
    }
  });
});

describe('the month', () => {
  it('never costs less when a type writes more (every other rate kept)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('account', 'profile', 'activity'),
        fc.double({ min: 0, max: 200, noNaN: true }),
        fc.double({ min: 0, max: 200, noNaN: true }),
        (type, a, b) => {
          const month = (w: number) => {
            const profile = parseProfile(
              {
                ...defaultProfile(prod, sagas),
                aggregates: { ...defaultProfile(prod, sagas).aggregates, [type]: { writesPerSecond: w } },
              },
              prod,
              sagas,
              'p',
            );
            const workload = modelWorkload(prod, profile, runtime(prod), inventory(prod));
            return monthlyCost({ topology: prod, workload, inventory: inventory(prod), prices }).total;
          };
          const [low, high] = a < b ? [a, b] : [b, a];
          expect(month(high)).toBeGreaterThanOrEqual(month(low) - 1e-6);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('bills the fixed resources it counts in the stacks: alarm metrics, high-resolution ones, keys, health-check features', () => {
    const inv = inventory(prod);
    expect(inv.regions[0]).toMatchObject({
      alarmMetrics: 3,
      highResolutionAlarmMetrics: 2,
      kmsKeys: 1,
      queues: 1,
      estimated: false,
    });
    expect(inv.global.healthCheckFeatures).toEqual(['HTTPS', 'fast interval (10 s)']);
    const wider = parseTopology({ ...prod, regions: [...prod.regions, { name: 'eu-central-1' }] });
    const estimated = inventoryOf(wider, templates(prod)).regions.find((r) => r.region === 'eu-central-1');
    expect(estimated).toMatchObject({ alarmMetrics: 3, estimated: true });
    expect(inventoryOf(wider, templates(prod)).global.healthChecks).toBe(4);
  });

  it('advises multiactive for a type whose declared RPO is 0 (no alternative gives it here) and prices every option', () => {
    const report = costReport({
      topology: prod,
      profile: defaultProfile(prod, sagas),
      runtime: runtime(prod),
      inventory: inventory(prod),
      prices,
    });
    expect(report.options.map((o) => o.option)).toEqual([
      'multiactive',
      'global-tables-eventual',
      'global-tables-strong',
      'single-region-backups',
      'warm-standby',
    ]);
    expect(report.options.find((o) => o.option === 'global-tables-strong')?.available).toBe(false);
    expect(report.recommendations.find((r) => r.type === 'account')?.advice).toBe('multiactive');
    expect(report.cost.total).toBeCloseTo(
      Object.values(report.cost.byService).reduce((n, v) => n + (v ?? 0), 0),
      6,
    );
  });
});

describe('capacity', () => {
  it('finds the limit that binds first, and moves it with the limit', () => {
    const profile = defaultProfile(prod, sagas);
    const first = capacity({ topology: prod, profile, runtime: runtime(prod), quotas })[0]!;
    expect(first.first.id).toBe('apigateway.v1Throttle');
    const throttle = first.limits.find((l) => l.id === 'apigateway.v1Throttle')!;
    // /v1 carries reads and writes: the writes per second at the throttle are its rate over the profile's mix.
    expect(throttle.writesPerSecond).toBeCloseTo((first.writesNow * throttle.quota) / throttle.usedNow, 0);
    const halved = parseTopology({
      ...prod,
      api: { ...prod.api, throttle: { ...prod.api.throttle, v1: { rateLimit: 500, burstLimit: 1000 } } },
    });
    const again = capacity({ topology: halved, profile, runtime: runtime(halved), quotas })[0]!;
    expect(again.limits.find((l) => l.id === 'apigateway.v1Throttle')!.writesPerSecond).toBeCloseTo(
      throttle.writesPerSecond / 2,
      0,
    );
  });
});

describe('transfers (the transfer saga) in the model', () => {
  const only = (crossRegionShare: number) =>
    parseProfile(
      { aggregates: {}, sagas: { transfer: { perSecond: 1, crossRegionShare } }, coreForwardShare: 0 },
      prod,
      sagas,
      'transfers only',
    );
  const total = (flows: ReturnType<typeof regionFlows>, pick: (t: (typeof flows)[0]['types'][0]) => number) =>
    flows.reduce((n, f) => n + f.types.reduce((m, t) => m + pick(t), 0), 0);

  it('runs a confirmed transfer along its code path: nine events, three tasks, five transitions', () => {
    const flows = regionFlows(prod, only(1), runtime(prod));
    expect(total(flows, (t) => t.eventsOriginated)).toBeCloseTo(9);
    expect(total(flows, (t) => t.saga.begun)).toBeCloseTo(1);
    expect(total(flows, (t) => t.saga.tasks)).toBeCloseTo(3);
    expect(total(flows, (t) => t.saga.transitions)).toBeCloseTo(5);
    // Cross-region: the credit leaves the source's home for the target's, where the API runs it.
    expect(total(flows, (t) => t.saga.stepsOut)).toBeCloseTo(1);
    expect(total(flows, (t) => t.saga.stepsIn)).toBeCloseTo(1);
    expect(total(flows, (t) => t.saga.writes.reduce((n, w) => n + w.rate, 0))).toBeCloseTo(6);
  });

  it('forwards nothing for a transfer between accounts of one home: the saga function credits in-process', () => {
    const flows = regionFlows(prod, only(0), runtime(prod));
    expect(total(flows, (t) => t.saga.stepsIn)).toBe(0);
    expect(total(flows, (t) => t.saga.writes.reduce((n, w) => n + w.rate, 0))).toBeCloseTo(7);
    expect(total(flows, (t) => t.eventsOriginated)).toBeCloseTo(9);
  });

  it("refuses client writes to a saga's own type, and sagas the code does not run", () => {
    expect(() =>
      parseProfile({ aggregates: { transfer: { writesPerSecond: 1 } } }, prod, sagas, 'p'),
    ).toThrow(/sagas\.transfer\.perSecond/);
    expect(() =>
      parseProfile({ aggregates: {}, sagas: { payment: { perSecond: 1 } } }, prod, sagas, 'p'),
    ).toThrow(/no saga "payment"/);
  });

  it('bills the saga function three invocations and the machine five transitions per transfer', () => {
    const base = modelWorkload(prod, only(1), runtime(prod)).usage;
    const none = modelWorkload(prod, { ...only(1), sagas: {} }, runtime(prod)).usage;
    const sum = (usage: typeof base, pick: (l: (typeof base)[0]) => number) =>
      usage.reduce((n, l) => n + pick(l), 0);
    const invocations = (l: (typeof base)[0]) =>
      l.operation === 'lambda:Invoke' && l.fn === 'saga' ? l.requests : 0;
    const transitions = (l: (typeof base)[0]) => (l.operation === 'states:StateTransition' ? l.billed : 0);
    expect(sum(base, invocations) - sum(none, invocations)).toBeCloseTo(3);
    expect(sum(base, transitions) - sum(none, transitions)).toBeCloseTo(5);
  });
});

describe("the application's sagas", () => {
  const sweepQueries = (usage: ReturnType<typeof modelWorkload>['usage']) =>
    usage.filter((l) => l.source === 'saga.sweep').reduce((n, l) => n + l.requests, 0);

  it('prices a saga of another application along its own steps', () => {
    // An order: stock reserved in the order's partition (Try, Cancel), a payment taken at its own home
    // (Try, Cancel), a shipment confirmed only.
    const order: SagaShape = {
      name: 'order',
      participants: [
        { name: 'stock', aggregateType: 'account', colocated: true, tries: true, cancels: true },
        { name: 'payment', aggregateType: 'account', colocated: false, tries: true, cancels: true },
        { name: 'shipment', aggregateType: 'account', colocated: false, tries: false, cancels: false },
      ],
    };
    const shop = parseTopology({
      ...prod,
      aggregates: [...prod.aggregates, { type: 'order', tier: 'core' }],
    });
    const profile = parseProfile(
      { aggregates: {}, sagas: { order: { perSecond: 1 } }, coreForwardShare: 0 },
      shop,
      { order },
      'orders only',
    );
    const flows = regionFlows(shop, profile, awsRuntime(shop, quotas, { order }));
    const total = (pick: (t: (typeof flows)[0]['types'][0]) => number) =>
      flows.reduce((n, f) => n + f.types.reduce((m, t) => m + pick(t), 0), 0);
    // SagaBegun; two Trys and their records, the decision, three Confirms and their records (the last
    // with SagaConfirmed); the payment's Try and Confirm and the shipment's Confirm at a peer's API.
    expect(total((t) => t.eventsOriginated)).toBeCloseTo(13);
    expect(total((t) => t.saga.stepsIn)).toBeCloseTo(3);
    expect(total((t) => t.saga.writes.reduce((n, w) => n + w.rate, 0))).toBeCloseTo(8);
    expect(total((t) => t.saga.tasks)).toBeCloseTo(3);
    expect(() =>
      parseProfile({ aggregates: {}, sagas: { transfer: { perSecond: 1 } } }, shop, { order }, 'p'),
    ).toThrow(/no saga "transfer" \(known: order\)/);
  });

  it('prices an application without sagas: its transfer type is written by clients, no sweep queries a saga type', () => {
    const none = defaultProfile(prod, {});
    expect(none.aggregates.transfer?.writesPerSecond).toBe(20);
    expect(() =>
      parseProfile({ aggregates: {}, sagas: { transfer: { perSecond: 1 } } }, prod, {}, 'p'),
    ).toThrow(/no saga "transfer" \(known: none\)/);
    expect(sweepQueries(modelWorkload(prod, none, awsRuntime(prod, quotas, {})).usage)).toBe(0);
    const bankProfile = defaultProfile(prod, sagas);
    expect(sweepQueries(modelWorkload(prod, bankProfile, runtime(prod)).usage)).toBeGreaterThan(0);
  });
});
