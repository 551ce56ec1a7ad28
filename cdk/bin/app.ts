/**
 * The CDK app: `npx cdk synth|deploy -c env=<name>` (default `dev`), one RegionalStack per configured
 * region plus the GlobalStack (us-east-1). Needs no AWS credentials to synthesize: nothing is looked up.
 *
 * Finding things in cdk.out (the sandbox reads the state machines from there):
 * - templates: `cdk.out/multiactive-<env>-<region>.template.json` and `multiactive-<env>-global.template.json`;
 * - state machines: resources of type `AWS::StepFunctions::StateMachine` whose `StateMachineName` is
 *   `multiactive-<env>-<Runbook>` (Switchover, Failover, Failback, Repair, ResolveConflict); their logical
 *   ids start with `Runbooks<Runbook>` followed by a hash. `DefinitionString` is an `Fn::Join` whose
 *   only tokens are the runbook function's ARN (`Fn::GetAtt [FunctionsrunbookFunction..., Arn]`).
 *   Task states use `payloadResponseOnly`: their Resource is that ARN itself, so a local handler gets
 *   `{ runbook, task, input }` and returns the task result directly (no `{ Payload }` envelope).
 * cdk-nag (AwsSolutions and Serverless packs) runs on every synth; `-c nag=false` skips it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadTopology, UnknownEnvironmentError } from '../../lib/config/index.ts';
import { createEnvironment } from '../stacks/environment.ts';

const app = new App();
const env = String(app.node.tryGetContext('env') ?? 'dev');

try {
  createEnvironment(app, loadTopology(env));
} catch (error) {
  if (!(error instanceof UnknownEnvironmentError)) throw error;
  console.error(`${error.message}\nPass one with: npx cdk synth -c env=<${error.known.join('|')}>`);
  process.exit(1);
}

if (app.node.tryGetContext('nag') !== 'false' && app.node.tryGetContext('nag') !== false) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
app.synth();
