import type { FencingBudget } from './fencing-budget.ts';
import { PartitionOwnership } from './ownership.ts';
import { PartitionMap } from './partition-map.ts';
import { QuorumRegister } from './quorum-register.ts';
import type { ControlReplica } from './replica.ts';

export interface ApplierOwnershipOptions {
  readonly region: string;
  /** Every configured region's control replica, this region's included. */
  readonly replicas: readonly ControlReplica[];
  /** Control table name; the same in every region. */
  readonly controlTable: string | (() => string);
  readonly fencing: FencingBudget;
  /** Bound on one replica call of a majority read (the API's: `routing.forwardTimeoutMs`). */
  readonly callTimeoutMs: number;
}

/**
 * The partition ownership a replication applier reads a home's lease from (PartitionOwnership
 * .homeLeaseForApply, for a cut event under `core.ack: local`): the same quorum register over every
 * region's control table and the same fencing budget as the API's, but never a claim or a write path.
 * @example const lease = (p: number) => applierOwnership({ region, replicas, controlTable, fencing, callTimeoutMs }).homeLeaseForApply(p);
 */
export function applierOwnership(options: ApplierOwnershipOptions): PartitionOwnership {
  const local = options.replicas.find((replica) => replica.region === options.region);
  if (!local) throw new Error(`no control replica for region ${options.region}`);
  const register = new QuorumRegister({ replicas: options.replicas, callTimeoutMs: options.callTimeoutMs });
  const { leaseMs, skewMarginMs } = options.fencing;
  const map = new PartitionMap({ register, leaseMs, skewMarginMs });
  return new PartitionOwnership({
    region: options.region,
    map,
    local,
    controlTable: options.controlTable,
    inFlight: options.fencing,
  });
}
