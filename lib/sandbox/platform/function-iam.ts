import type { PutEventsEntry } from '../eventbridge/index.ts';
import { entrySize } from '../eventbridge/index.ts';
import { currentCaller, type IamEnforcement, putEventsCall, runAs } from '../iam/index.ts';

/** A PutEvents entry as the replication module or the local bus hands it over. */
type Entry = Omit<PutEventsEntry, 'Resources'> & { readonly Resources?: readonly string[] | undefined };

/** The cell's functions, by the short name that ends `multiactive-<env>-<name>`. */
export type CellFunctionName = 'api' | 'publisher' | 'applier' | 'lag-monitor' | 'runbook' | 'saga';

/**
 * IAM as a region's local functions see it: each invocation runs as its function's role, and PutEvents on
 * a local bus (which has no SDK client in the sandbox) is authorized for whoever is calling.
 */
export interface FunctionIam {
  /** Runs one invocation of `fn` as its execution role. */
  as<T>(fn: CellFunctionName, work: () => Promise<T>): Promise<T>;
  /** Authorizes (and counts) PutEvents of `entries` on the bus `busArn` for the current caller. */
  putEvents(busArn: string, entries: readonly Entry[]): Promise<void>;
}

/** No IAM: every call is allowed (unit tests that build a region's functions without templates). */
export const NO_FUNCTION_IAM: FunctionIam = {
  as: (_fn, work) => work(),
  putEvents: async () => {},
};

/** The IAM of one region's functions, from the enforcement built over the synthesized templates. */
export function functionIam(iam: IamEnforcement, region: string, env: string): FunctionIam {
  const callers = new Map<CellFunctionName, ReturnType<IamEnforcement['functionCaller']>>();
  const callerOf = (fn: CellFunctionName) => {
    let caller = callers.get(fn);
    if (!caller) {
      caller = iam.functionCaller(region, env, fn);
      callers.set(fn, caller);
    }
    return caller;
  };
  return {
    as: (fn, work) => runAs(callerOf(fn), work),
    putEvents: (busArn, entries) =>
      iam.require(
        currentCaller(),
        putEventsCall(busArn, entries.length),
        entries.reduce((sum, e) => sum + entrySize({ ...e, Resources: e.Resources && [...e.Resources] }), 0),
      ),
  };
}
