import { Duration } from 'aws-cdk-lib';

/** One step crosses at most one forward to a peer region and a few local writes. */
export const SAGA_TASK_TIMEOUT = Duration.seconds(30);

/**
 * Retries per task after its first attempt (1 s, then doubling): Try gives up soonest (its failure
 * cancels, which is always safe); Confirm and Cancel, which must eventually succeed, keep trying for
 * ~30 s before the sweep takes over.
 */
export const SAGA_RETRIES = { Try: 2, Decide: 4, Confirm: 5, Cancel: 5 } as const;

/** Upper bound of one execution; a saga outliving it is resumed by the sweep. */
export const SAGA_EXECUTION_TIMEOUT = Duration.minutes(10);
