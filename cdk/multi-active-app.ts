import { Stage } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { Application } from '../lib/app/index.ts';
import type { Topology } from '../lib/config/index.ts';
import { createEnvironment } from './stacks/environment.ts';
import type { FoundationStack } from './stacks/foundation-stack.ts';
import type { GlobalStack } from './stacks/global-stack.ts';
import type { RegionalStack } from './stacks/regional-stack.ts';

export interface MultiActiveAppProps {
  /**
   * The application: its aggregates, sagas and topologies. Load it with `loadApplication(path)` so its
   * module is known: every handler is bundled with that module (the team's own code).
   */
  readonly application: Application;
  /** Which of the application's environments to deploy (`dev`, `prod`, ...). */
  readonly environment: string;
}

/**
 * Every stack of one environment of an application, active-active: per region a foundation (the
 * replication bus) and a cell (tables, handlers, HTTP API, runbooks, sagas, alarms), and the global stack
 * (Route 53 GTM, health checks). A team instantiates it in its own CDK app, beside its own stacks, and
 * reaches the cells' resources through `regional` (e.g. `regional['eu-west-1'].tables`). The stacks are
 * created in the enclosing Stage (the App), not under this construct: construct paths enter logical ids
 * (Lambda permissions, event source mappings), so nesting them would replace those resources in every
 * deployed cell and rename the templates in cdk.out; the stacks are exactly those `cdk/bin/app.ts` deploys.
 * @example new MultiActiveApp(app, 'Bank', { application: await loadApplication('multiactive.config.ts'), environment: 'dev' });
 */
export class MultiActiveApp extends Construct {
  public readonly topology: Topology;
  /** The replication bus of each region, by region. */
  public readonly foundation: Readonly<Record<string, FoundationStack>>;
  /** The cell of each region, by region. */
  public readonly regional: Readonly<Record<string, RegionalStack>>;
  public readonly global: GlobalStack;

  constructor(scope: Construct, id: string, props: MultiActiveAppProps) {
    super(scope, id);
    this.topology = props.application.topology(props.environment);
    const stage = Stage.of(this);
    if (!stage) throw new Error(`${this.node.path}: MultiActiveApp belongs in an App (or a Stage)`);
    const stacks = createEnvironment(stage, this.topology, {
      ...(props.application.module ? { applicationModule: props.application.module } : {}),
    });
    this.foundation = stacks.foundation;
    this.regional = stacks.regional;
    this.global = stacks.global;
  }
}
