import { describe, expect, it } from 'vitest';
import { type CommandResult, executeCommand } from '../../../lib/commands/execute.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { E, earlierEpochHeadAtU, failOverTo, U } from './figure-8.ts';

/**
 * Raft's "Figure 8" on the answer of a command decided as a no-op (`copyHeadBeforeAck`): a saga step that
 * finds its work done acknowledges the aggregate's head, and that head may be an earlier epoch's event.
 *
 * 1. U (home, epoch e) credits transfer T (a saga's Confirm on the target); its copies fail: 503, W (the
 *    credit) is in U's log only, at seq 3.
 * 2. U lost; Failover to E (e+2). E writes a deposit, its copies fail: 503, X at seq 3 in E's log only.
 * 3. U back, E lost; Failover picks U (e+4); nothing reachable holds X, U's chain keeps W.
 * 4. The saga's retry of the credit at U: a no-op (T is credited). Its answer copied W alone to P (U + P, a
 *    majority) and said 200: the saga would record the target credited.
 * 5. E back, U lost; Failover picks E. The collection sees X (epoch e+2) at E and W (epoch e) at P at seq 3:
 *    X's branch reaches the higher epoch, W is not collected. The acknowledged credit is gone.
 * The no-op is acknowledged only through a write of U's epoch on top of W (the rule of `committedThrough`
 * for retries): U appends its epoch's no-op event on top of W, as a new Raft leader commits an entry of
 * its own term, and copies both; the branch then reaches e+4 and is collected.
 */
async function scenario() {
  const id = `noop-fig8-${Date.now().toString(36)}`;
  const credit = (at: number) => ({
    aggregateType: 'account',
    aggregateId: id,
    command: {
      type: 'CreditTransfer',
      payload: { transferId: `tr-${id}`, amount: 100, from: `src-${id}`, at },
    },
    causationId: `tr-${id}`,
  });
  // 1-3. W: U's credit, its copies failed; E's X at its seq; U home again with W.
  const { cluster } = await earlierEpochHeadAtU(id, async (c) => {
    await expect(executeCommand(c.regions[U]!.commands, credit(Date.now()))).rejects.toThrow();
  });

  // 4. The saga's retry of the credit at U: a no-op.
  const retry: CommandResult | Error = await executeCommand(
    cluster.regions[U]!.commands,
    credit(Date.now()),
  ).catch((error: Error) => error);
  const uLog = await cluster.regions[U]!.events.loadStream('account', id);

  // 5. E back, U lost, Failover picks E.
  cluster.links.heal();
  cluster.links.isolate(U);
  await failOverTo(cluster, E, U);
  const eLog = await cluster.regions[E]!.events.loadStream('account', id);
  return { retry, uLog, eLog };
}

describe('a no-op acknowledged on an earlier epoch head survives the next failover (Raft Figure 8)', {
  timeout: 240_000,
}, () => {
  it('acknowledges the credit through a write of the home epoch on top of it: the next home keeps both', async () => {
    const { retry, uLog, eLog } = await scenario();
    const w = uLog[2]!;
    expect(w.type).toBe('TransferCredited');
    expect(retry).not.toBeInstanceOf(Error);
    expect((retry as CommandResult).events).toEqual([]);
    expect((retry as CommandResult).state).toMatchObject({ balance: 101 });
    // The credit the no-op acknowledged is in the next home's log.
    expect(eLog.map((e) => e.eventId)).toContain(w.eventId);
    // Through U's epoch written on top of W, on the branch that was collected.
    const mark = uLog[3];
    expect([mark?.type, (mark?.epoch ?? 0) > w.epoch, mark?.prev]).toEqual(['EpochNoOp', true, w.hlc]);
    expect(eLog.map((e) => e.eventId)).toContain(mark?.eventId);
  });

  it('with the bug switch old-epoch-landed-ack, the no-op is acknowledged by copies of W alone and the next home loses W', async () => {
    const { retry, uLog, eLog } = await withBug('old-epoch-landed-ack', scenario);
    const w = uLog[2]!;
    expect(retry).not.toBeInstanceOf(Error);
    expect(uLog).toHaveLength(3);
    expect(eLog.map((e) => e.eventId)).not.toContain(w.eventId);
  });
});
