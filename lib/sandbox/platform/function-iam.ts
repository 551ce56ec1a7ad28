import type { InternalKey } from '../../auth/index.ts';
import { internalKeySecretName } from '../../auth/index.ts';
import type { PutEventsEntry } from '../eventbridge/index.ts';
import { entrySize } from '../eventbridge/index.ts';
import {
  currentCaller,
  getSecretValueCall,
  type IamEnforcement,
  putEventsCall,
  runAs,
} from '../iam/index.ts';

/** A PutEvents entry as the replication module or the local bus hands it over. */
type Entry = Omit<PutEventsEntry, 'Resources'> & { readonly Resources?: readonly string[] | undefined };

/** The cell's functions, by the short name that ends `multiactive-<env>-<name>`. */
export type CellFunctionName =
  | 'api'
  | 'health'
  | 'publisher'
  | 'applier'
  | 'lag-monitor'
  | 'runbook'
  | 'watchdog'
  | 'readiness'
  | 'saga'
  | 'archiver';

/**
 * The suffix Secrets Manager appends to a secret's ARN (six random characters in AWS; fixed here). Grants
 * name the secret `<name>-??????`, so a grant on the bare name would be refused here as it is in AWS.
 */
export const SANDBOX_SECRET_SUFFIX = 'Sandbx';

/** The ARN of the region's replica of the environment's internal key, as the sandbox names it. */
export function internalKeyArn(region: string, account: string, env: string): string {
  return `arn:aws:secretsmanager:${region}:${account}:secret:${internalKeySecretName(env)}-${SANDBOX_SECRET_SUFFIX}`;
}

/**
 * IAM as a region's local functions see it: each invocation runs as its function's role, and PutEvents on
 * a local bus (which has no SDK client in the sandbox) is authorized for whoever is calling, as is a read
 * of the internal key (Secrets Manager has no SDK client in the sandbox either).
 */
export interface FunctionIam {
  /** Runs one invocation of `fn` as its execution role. */
  as<T>(fn: CellFunctionName, work: () => Promise<T>): Promise<T>;
  /** Authorizes (and counts) PutEvents of `entries` on the bus `busArn` for the current caller. */
  putEvents(busArn: string, entries: readonly Entry[]): Promise<void>;
  /** `key` read as GetSecretValue on this region's secret, authorized for the caller of each read. */
  internalKey(key: InternalKey): InternalKey;
}

/** No IAM: every call is allowed (unit tests that build a region's functions without templates). */
export const NO_FUNCTION_IAM: FunctionIam = {
  as: (_fn, work) => work(),
  putEvents: async () => {},
  internalKey: (key) => key,
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
  const secret = getSecretValueCall(internalKeyArn(region, iam.model.account, env));
  /** Per function (caller label): until when its last authorized read is cached. */
  const fetchedUntil = new Map<string, number>();
  return {
    as: (fn, work) => runAs(callerOf(fn), work),
    putEvents: (busArn, entries) =>
      iam.require(
        currentCaller(),
        putEventsCall(busArn, entries.length),
        entries.reduce((sum, e) => sum + entrySize({ ...e, Resources: e.Resources && [...e.Resources] }), 0),
      ),
    internalKey: (key) => async () => {
      const value = await key();
      const caller = currentCaller();
      const cached = caller && fetchedUntil.get(caller.label);
      if (cached && cached > Date.now()) return value;
      await iam.require(caller, secret, value.byteLength);
      if (caller) fetchedUntil.set(caller.label, Date.now() + SECRET_CACHE_MS);
      return value;
    },
  };
}

/**
 * How long a function keeps the secret it read: Powertools' `getSecret` cache in a Lambda container (see
 * lib/auth/secrets-manager-key.ts), so the sandbox calls GetSecretValue as often as AWS would.
 */
const SECRET_CACHE_MS = 300_000;
