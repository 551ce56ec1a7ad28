import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who makes an AWS call in the sandbox. In AWS every call is signed with the caller's credentials; the
 * sandbox's handlers share one process and one SDK client per region, so the caller travels with the
 * asynchronous context instead: a function's invocation runs inside `runAs(itsRole, ...)`, and every
 * call it makes (timers and promises it starts included) is authorized as that role.
 */
export type Caller =
  | {
      readonly kind: 'role';
      /** The role's ARN (`aws:PrincipalArn`). */
      readonly roleArn: string;
      /** The role session name (Lambda uses the function name). */
      readonly session: string;
      /** How reports name the caller: `us-east-1/api`, `eu-west-1/state-machine/multiactive-dev-Failover`. */
      readonly label: string;
    }
  | {
      /** An AWS service acting on its own behalf (EventBridge invoking a Lambda target). */
      readonly kind: 'service';
      readonly service: string;
      /** The resource on whose behalf it acts (`aws:SourceArn`), e.g. the rule. */
      readonly sourceArn: string;
      readonly label: string;
    };

const current = new AsyncLocalStorage<Caller>();

/** Runs `work` (and everything it starts) as `caller`. */
export function runAs<T>(caller: Caller, work: () => T): T {
  return current.run(caller, work);
}

/** The caller of the code running now; undefined for the sandbox's own plumbing (setup, checks, reports). */
export function currentCaller(): Caller | undefined {
  return current.getStore();
}

/** The principal ARN IAM evaluates: the assumed-role session for a role, the service name for a service. */
export function principalOf(caller: Caller, account: string): string {
  if (caller.kind === 'service') return caller.service;
  const name = caller.roleArn.slice(caller.roleArn.lastIndexOf('/') + 1);
  return `arn:aws:sts::${account}:assumed-role/${name}/${caller.session}`;
}

/**
 * Runs `work` as the sandbox's own plumbing (no caller, not checked): for the answers the sandbox gives in
 * place of an AWS API it has no SDK client for, once the call itself has been authorized.
 */
export function asSandbox<T>(work: () => T): T {
  return current.exit(work);
}
