import { expect } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { catchUpCoreRow } from '../../../lib/commands/execute.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  type Anomaly,
  byKey,
  checkCoreTier,
  checkFencing,
  HistoryRecorder,
  pairOperations,
  readSnapshot,
} from '../../../lib/verify/index.ts';
import {
  type Answer,
  type Cell,
  type Cluster,
  command,
  REGIONS,
  type RegionName,
} from '../routing/cluster.ts';

/**
 * Account operations of a scenario test, recorded the way the chaos clients record them, so the chaos
 * checkers (lib/verify) can be run over the stores the scenario leaves behind.
 */
export class CheckedAccounts {
  readonly history = new HistoryRecorder();
  private clients = 0;

  constructor(private readonly cluster: Cluster) {}

  /** Sends a deposit to `region` as a fresh client; records invoke and ok / fail / info. */
  async deposit(region: RegionName, id: string, amount: number): Promise<Answer> {
    return this.run(this.cluster.cells[region], id, { f: 'deposit', amount });
  }

  /** Opens the account in `region` (recorded like a chaos client's `open`). */
  async open(region: RegionName, id: string): Promise<Answer> {
    return this.run(this.cluster.cells[region], id, { f: 'open', amount: null });
  }

  private async run(
    cell: Cell,
    id: string,
    op: { f: 'deposit' | 'open'; amount: number | null },
  ): Promise<Answer> {
    const process = `client-${++this.clients}`;
    const key = `account/${id}`;
    this.history.record({ process, type: 'invoke', f: op.f, key, value: op.amount });
    const body =
      op.f === 'open'
        ? { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } }
        : { type: 'Deposit', payload: { amount: op.amount } };
    const answer = await command(cell, 'account', id, body);
    const region = answer.headers['X-Multiactive-Region'] ?? cell.name;
    if (answer.status === 200) {
      const events = (answer.body.events as Array<{ eventId: string }>).map((e) => e.eventId);
      const balance = (answer.body.state as { balance: number }).balance;
      this.history.record({ process, type: 'ok', f: op.f, key, value: balance, region, eventIds: events });
    } else {
      const error = String(answer.body.error ?? answer.status);
      const type = answer.status >= 500 ? 'info' : 'fail';
      this.history.record({ process, type, f: op.f, key, value: null, error, region });
    }
    return answer;
  }

  /** Runs the core and fencing checkers over every region's tables. */
  async check(): Promise<Anomaly[]> {
    const regions = await Promise.all(
      REGIONS.map((region) => {
        const { doc, tables } = this.cluster.cells[region].tables;
        return readSnapshot({ region, doc, tables });
      }),
    );
    const operations = byKey(pairOperations(this.history.events()));
    return [...checkFencing(regions).anomalies, ...checkCoreTier({ operations, regions }).anomalies];
  }
}

const account = createRegistry(exampleAggregates, bank.topology('dev')).get('account');

/**
 * Brings every region's copy of an account to `home`'s log, the way replication would once delivery
 * resumes; an event whose seq another region already holds differently (a forked log) stays out.
 */
export async function converge(cluster: Cluster, home: RegionName, id: string): Promise<void> {
  const events = await cluster.cells[home].events.loadStream('account', id);
  for (const region of REGIONS) {
    if (region === home) continue;
    const cell = cluster.cells[region];
    const held = new Set((await cell.events.loadStream('account', id)).map((e) => e.eventId));
    for (const event of events) {
      if (held.has(event.eventId)) continue;
      await cell.events.appendEvents([event], { tier: 'core' }).catch(() => undefined);
    }
    await catchUpCoreRow(cell, account, id);
  }
}

/** The kinds of the anomalies, sorted and deduplicated (for assertions). */
export function kindsOf(anomalies: readonly Anomaly[]): string[] {
  return [...new Set(anomalies.map((a) => `${a.checker}/${a.kind}`))].sort();
}

/** Asserts the checkers found nothing, printing what they found otherwise. */
export function expectClean(anomalies: readonly Anomaly[]): void {
  expect(anomalies.map((a) => `${a.checker}/${a.kind} ${a.key}: ${a.message}`)).toEqual([]);
}
