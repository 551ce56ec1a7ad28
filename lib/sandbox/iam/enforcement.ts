import { type Decision, IamAuthorizer } from './authorizer.ts';
import type { Caller } from './caller.ts';
import { accessDeniedException } from './errors.ts';
import { type DeployedTemplate, type IamModel, iamModelOf } from './model.ts';
import type { CallDescription, CallTarget } from './requests.ts';
import { type ClientKind, type InstrumentableClient, instrumentClient } from './sdk-middleware.ts';
import { CallUsage, type CallUsageRow } from './usage.ts';

/** One refused call, for the reports. */
export interface Denial {
  readonly at: string;
  readonly caller: string;
  readonly operation: string;
  readonly message: string;
}

/** What `npm start` and the chaos report print. */
export interface IamReport {
  /** Calls IAM decided (made by a function, a state machine or a rule target). */
  readonly checked: number;
  readonly denied: number;
  /** The sandbox's own calls (table setup, consistency checks, reports): not IAM-checked. */
  readonly unattributed: number;
  /** The first denials, oldest first (at most MAX_KEPT_DENIALS). */
  readonly denials: readonly Denial[];
}

const MAX_KEPT_DENIALS = 50;

/** Calls decided by every enforcement of this process (every sandbox a benchmark starts, say). */
const processTotals = { checked: 0, denied: 0 };

/** Totals over every sandbox this process has run so far (benchmarks report the difference per benchmark). */
export function processIamTotals(): { checked: number; denied: number } {
  return { ...processTotals };
}

/**
 * IAM for the whole sandbox, from the synthesized templates: SDK clients are instrumented
 * (`instrument`), the paths without an SDK client (local buses, Lambda invocations by EventBridge and
 * Step Functions, StartExecution by rules) call `require`. Every call is counted in `usage` (see
 * `CallUsageRow` for the cost-model figures).
 * @example
 * const iam = IamEnforcement.fromTemplates(deployed);
 * iam.instrument(clients.dynamodb, 'dynamodb', { region, account });
 * await runAs(iam.functionCaller(region, 'multiactive-dev-api'), () => handler(event));
 */
export class IamEnforcement {
  readonly usage = new CallUsage();
  private readonly authorizer: IamAuthorizer;
  private readonly denials: Denial[] = [];

  constructor(
    readonly model: IamModel,
    private readonly onDenied: (denial: Denial) => void = () => {},
  ) {
    this.authorizer = new IamAuthorizer(model);
  }

  /** Builds the model from every stack of the environment. */
  static fromTemplates(
    deployed: readonly DeployedTemplate[],
    onDenied?: (denial: Denial) => void,
  ): IamEnforcement {
    return new IamEnforcement(iamModelOf(deployed), onDenied);
  }

  /** Authorizes and counts every call of an SDK client pointed at `target`. */
  instrument(client: InstrumentableClient, kind: ClientKind, target: Omit<CallTarget, 'account'>): void {
    instrumentClient(
      client,
      kind,
      { ...target, account: this.model.account },
      {
        decide: (caller, call) => this.decide(caller, call),
        count: (caller, call, bytes, decision) => this.count(caller, call, bytes, decision),
      },
    );
  }

  /** The execution role of a cell's function `multiactive-<env>-<name>` in `region`. */
  functionCaller(region: string, env: string, name: string): Caller {
    const functionName = `multiactive-${env}-${name}`;
    const arn = `arn:aws:lambda:${region}:${this.model.account}:function:${functionName}`;
    const roleArn = this.model.functionRoles.get(arn);
    if (!roleArn) throw new Error(`no function ${functionName} in the ${region} templates`);
    return { kind: 'role', roleArn, session: functionName, label: `${region}/${name}` };
  }

  /** The role a state machine runs as. */
  stateMachineCaller(stateMachineArn: string): Caller {
    const roleArn = this.model.stateMachineRoles.get(stateMachineArn);
    if (!roleArn) throw new Error(`no state machine ${stateMachineArn} in the templates`);
    const [, , , region, , , name] = stateMachineArn.split(':');
    return { kind: 'role', roleArn, session: 'sandbox-execution', label: `${region}/state-machine/${name}` };
  }

  /** A rule target's role (cross-region bus targets, state machine targets). */
  ruleTargetCaller(roleArn: string, ruleArn: string): Caller {
    const [, , , region, , resource = ''] = ruleArn.split(':');
    return { kind: 'role', roleArn, session: 'events', label: `${region}/${resource}` };
  }

  /** EventBridge invoking a Lambda target on behalf of a rule (no role: the function's resource policy decides). */
  ruleServiceCaller(ruleArn: string): Caller {
    const [, , , region, , resource = ''] = ruleArn.split(':');
    return this.serviceCaller('events.amazonaws.com', ruleArn, `${region}/${resource}`);
  }

  /** An AWS service acting on behalf of `sourceArn` (API Gateway for a route, EventBridge for a rule). */
  serviceCaller(service: string, sourceArn: string, label: string): Caller {
    return { kind: 'service', service, sourceArn, label };
  }

  /**
   * Authorizes and counts a call made without an SDK client; a refusal throws the AccessDeniedException
   * the SDK would. `caller` undefined is the sandbox's own call: counted, not checked.
   */
  async require(caller: Caller | undefined, call: CallDescription, bytes: number): Promise<void> {
    const decision = await this.decide(caller, call);
    this.count(caller, call, bytes, decision);
    if (decision && !decision.allowed) throw accessDeniedException(call.service, decision.message);
  }

  /**
   * Loads the IAM reference data of every service the sandbox calls (the first decision of a service
   * reads it, ~50 ms idle and much more on a loaded machine), so no request pays for it.
   */
  async warmUp(): Promise<void> {
    const role = [...this.model.roles.values()][0];
    if (!role) return;
    const caller: Caller = { kind: 'role', roleArn: role.arn, session: 'warm-up', label: 'warm-up' };
    const arn = (service: string, resource: string) =>
      `arn:aws:${service}:us-east-1:${this.model.account}:${resource}`;
    await Promise.all(
      [
        { action: 'dynamodb:GetItem', resource: arn('dynamodb', 'table/warm-up') },
        { action: 'events:PutEvents', resource: arn('events', 'event-bus/warm-up') },
        { action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:warm-up') },
        { action: 'states:StartExecution', resource: arn('states', 'stateMachine:warm-up') },
        { action: 'sqs:SendMessage', resource: arn('sqs', 'warm-up') },
        { action: 'secretsmanager:GetSecretValue', resource: arn('secretsmanager', 'secret:warm-up-Sandbx') },
        // The readiness function's reads (lib/ops/aws-readiness.ts).
        { action: 'cloudformation:DescribeStacks', resource: arn('cloudformation', 'stack/warm-up/id') },
        { action: 'cloudwatch:DescribeAlarms', resource: arn('cloudwatch', 'alarm:warm-up') },
        { action: 'route53:GetHealthCheckStatus', resource: 'arn:aws:route53:::healthcheck/warm-up' },
        // The retention archive (lib/sandbox/platform/sandbox-archive.ts).
        { action: 's3:GetObject', resource: 'arn:aws:s3:::warm-up/warm-up' },
      ].map((request) => this.authorizer.decide(caller, request)),
    );
  }

  /** Totals and the first denials. */
  report(): IamReport {
    return { ...this.usage.totals(), denials: [...this.denials] };
  }

  /** Usage per service, caller and operation (see CallUsageRow). */
  usageRows(): CallUsageRow[] {
    return this.usage.snapshot();
  }

  private async decide(caller: Caller | undefined, call: CallDescription): Promise<Decision | undefined> {
    if (!caller) return undefined;
    for (const request of call.requests) {
      const decision = await this.authorizer.decide(caller, request);
      if (!decision.allowed) return decision;
    }
    return { allowed: true, message: '' };
  }

  private count(
    caller: Caller | undefined,
    call: CallDescription,
    bytes: number,
    decision: Decision | undefined,
  ) {
    const denied = decision !== undefined && !decision.allowed;
    if (caller) processTotals.checked++;
    if (denied) processTotals.denied++;
    this.usage.record({
      service: call.service,
      caller: caller?.label,
      operation: call.operation,
      items: call.items,
      bytes,
      denied,
    });
    if (!denied || !caller) return;
    const denial = {
      at: new Date().toISOString(),
      caller: caller.label,
      operation: call.operation,
      message: decision.message,
    };
    if (this.denials.length < MAX_KEPT_DENIALS) this.denials.push(denial);
    this.onDenied(denial);
  }
}

/** The report's IAM lines: totals, then each kept denial. */
export function formatIamReport(report: IamReport): string[] {
  return [
    `IAM: ${report.checked} calls checked, ${report.denied} denied (${report.unattributed} sandbox calls not checked)`,
    ...report.denials.slice(0, 10).map((d) => `  denied ${d.caller} ${d.operation}: ${d.message}`),
  ];
}
