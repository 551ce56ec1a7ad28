import { getDenialReasons, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { type Caller, principalOf } from './caller.ts';
import { IamSimulationError } from './errors.ts';
import type { IamModel } from './model.ts';
import type { AuthorizationRequest } from './requests.ts';

/** The outcome of one authorization, with the sentence AWS would put in the AccessDeniedException. */
export interface Decision {
  readonly allowed: boolean;
  readonly message: string;
}

/**
 * Decides calls with `@cloud-copilot/iam-simulate` against the identity policies of the caller's role and
 * the target's resource policy, as IAM does for a same-account request (an Allow in either suffices, an
 * explicit Deny in either wins). Decisions are pure functions of (caller, action, resource), so each is
 * computed once and remembered.
 */
export class IamAuthorizer {
  private readonly decisions = new Map<string, Promise<Decision>>();

  constructor(private readonly model: IamModel) {}

  /** Decides one request. */
  decide(caller: Caller, request: AuthorizationRequest): Promise<Decision> {
    const identity = caller.kind === 'role' ? caller.roleArn : `${caller.service}@${caller.sourceArn}`;
    const key = `${identity}|${caller.kind === 'role' ? caller.session : ''}|${request.action}|${request.resource}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = this.simulate(caller, request);
      this.decisions.set(key, decision);
    }
    return decision;
  }

  private async simulate(caller: Caller, request: AuthorizationRequest): Promise<Decision> {
    const { account } = this.model;
    const principal = principalOf(caller, account);
    const role = caller.kind === 'role' ? this.model.roles.get(caller.roleArn) : undefined;
    if (caller.kind === 'role' && !role)
      return deny(principal, request, 'because no identity-based policy allows the action (no such role)');
    const resourcePolicy = this.model.resourcePolicies.get(request.resource);
    const simulation: Simulation = {
      identityPolicies: (role?.policies ?? []).map((p) => ({ name: p.name, policy: p.document as never })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy: resourcePolicy as never } : {}),
      request: {
        action: request.action,
        principal,
        resource: { accountId: account, resource: request.resource },
        contextVariables: contextOf(caller, account),
      },
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error')
      throw new IamSimulationError(`IAM simulation of ${request.action} failed: ${result.errors.message}`);
    if (result.overallResult === 'Allowed') return { allowed: true, message: '' };
    const analysis = result.resultType === 'single' ? result.result.analysis : undefined;
    const explicit = analysis
      ? getDenialReasons(analysis).find((r) => r.denialType === 'Explicit')
      : undefined;
    if (result.overallResult === 'ExplicitlyDenied')
      return deny(
        principal,
        request,
        `with an explicit deny in ${explicit?.policyType === 'resource' ? 'a resource-based' : 'an identity-based'} policy`,
      );
    return deny(principal, request, `because no identity-based policy allows the ${request.action} action`);
  }
}

function contextOf(caller: Caller, account: string): Record<string, string> {
  const common = { 'aws:SecureTransport': 'true' };
  if (caller.kind === 'service')
    return { ...common, 'aws:SourceArn': caller.sourceArn, 'aws:SourceAccount': account };
  return { ...common, 'aws:PrincipalArn': caller.roleArn, 'aws:PrincipalAccount': account };
}

/** The sentence AWS puts in an AccessDeniedException. */
function deny(principal: string, request: AuthorizationRequest, why: string): Decision {
  return {
    allowed: false,
    message: `User: ${principal} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
  };
}
