import {
  type Anomaly,
  byKey,
  checkCoreTier,
  checkFencing,
  checkStranded,
  HistoryRecorder,
  type OperationName,
  pairOperations,
} from '../../../lib/verify/index.ts';
import type { StatusAndBody } from '../../support/answers.ts';
import type { QuorumCluster } from './quorum-cluster.ts';

/** Account operations sent to one region's API, recorded as the chaos clients record them. */
export class AccountClient {
  readonly history = new HistoryRecorder();

  constructor(private readonly cluster: QuorumCluster) {}

  /** Sends one operation to `region`; returns the HTTP status. */
  async send(region: string, f: Extract<OperationName, 'open' | 'deposit'>, id: string, amount = 0) {
    return (await this.answer(region, f, id, amount)).status;
  }

  /**
   * Sends one operation to `region`; returns the answer (status and body). Assert with
   * `expectStatus(answer, 200)` (test/support/answers.ts): a mismatch then names the error and its reason.
   */
  async answer(
    region: string,
    f: Extract<OperationName, 'open' | 'deposit'>,
    id: string,
    amount = 0,
  ): Promise<StatusAndBody> {
    const key = `account/${id}`;
    const process = `client-${region}`;
    this.history.record({ process, type: 'invoke', f, key, value: f === 'open' ? null : amount });
    const command =
      f === 'open'
        ? { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } }
        : { type: 'Deposit', payload: { amount } };
    const answer = await this.cluster.regions[region]!.post('account', id, command);
    const body = answer.body as {
      events?: Array<{ eventId: string }>;
      state?: { balance?: number };
      error?: string;
    };
    if (answer.status === 200)
      this.history.record({
        process,
        type: 'ok',
        f,
        key,
        value: f === 'open' ? null : (body.state?.balance ?? null),
        region,
        eventIds: (body.events ?? []).map((e) => e.eventId),
      });
    else
      this.history.record({
        process,
        type: answer.status < 500 ? 'fail' : 'info',
        f,
        key,
        value: null,
        region,
        error: body.error ?? String(answer.status),
      });
    return answer;
  }
}

/**
 * Delivers every survivor's log of the aggregate to every other survivor (replication resuming), then runs
 * the chaos checkers (core, fencing, stranded) over the survivors' stores.
 */
export async function quiesceAndCheck(
  cluster: QuorumCluster,
  client: AccountClient,
  input: { readonly survivors: readonly string[]; readonly ids: readonly string[] },
): Promise<Anomaly[]> {
  for (let round = 0; round < 2; round++)
    for (const id of input.ids)
      for (const from of input.survivors)
        for (const to of input.survivors) if (from !== to) await cluster.replicate(from, to, 'account', id);
  const snapshots = await cluster.snapshots(input.survivors);
  const operations = byKey(pairOperations(client.history.events()));
  return [
    // Under ack quorum an acknowledged write found only in the conflict queues (a retired branch) is lost.
    ...checkCoreTier({ operations, regions: snapshots, ackMode: cluster.topology.core.ack }).anomalies,
    ...checkFencing(snapshots).anomalies,
    ...checkStranded({ regions: snapshots }).anomalies,
  ];
}
