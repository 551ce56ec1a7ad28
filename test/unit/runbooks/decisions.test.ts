import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { chooseNewHomes, confirmLoss, NoEligibleHomeError, voteOn } from '../../../lib/runbooks/index.ts';

const topology = bank.topology('dev');
const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

describe('failover decisions', () => {
  it('votes lost only when the probe fails and the heartbeats went quiet', () => {
    expect(voteOn({ reachable: false, heartbeatAgeMs: 5_000 }, 1_000)).toBe('lost');
    expect(voteOn({ reachable: false, heartbeatAgeMs: null }, 1_000)).toBe('lost');
    expect(voteOn({ reachable: false, heartbeatAgeMs: 200 }, 1_000)).toBe('reachable');
    expect(voteOn({ reachable: true, heartbeatAgeMs: 9_000 }, 1_000)).toBe('reachable');
  });

  it('confirms a loss only with a majority of all regions, and says why it refuses', () => {
    expect(
      confirmLoss('ap-southeast-1', regions, { 'us-east-1': 'lost', 'eu-west-1': 'lost' }).confirmed,
    ).toBe(true);
    const refused = confirmLoss('ap-southeast-1', regions, { 'us-east-1': 'lost', 'eu-west-1': 'no-answer' });
    expect(refused.confirmed).toBe(false);
    expect(refused.reason).toContain('only 1 of the 2 votes');
    expect(confirmLoss('mars-1', regions, { 'us-east-1': 'lost', 'eu-west-1': 'lost' }).confirmed).toBe(
      false,
    );
  });

  it('moves partitions to the nearest survivor, honouring a residency allow-list', () => {
    const moves = chooseNewHomes({
      topology,
      lost: 'us-east-1',
      partitions: [1, 2],
      survivors: ['eu-west-1', 'ap-southeast-1'],
      allowed: { '2': ['ap-southeast-1'] },
    });
    expect(moves).toEqual([
      { partition: 1, from: 'us-east-1', to: 'eu-west-1' },
      { partition: 2, from: 'us-east-1', to: 'ap-southeast-1' },
    ]);
    expect(() =>
      chooseNewHomes({
        topology,
        lost: 'us-east-1',
        partitions: [3],
        survivors: ['eu-west-1'],
        allowed: { '3': ['us-east-1'] },
      }),
    ).toThrow(NoEligibleHomeError);
  });
});
