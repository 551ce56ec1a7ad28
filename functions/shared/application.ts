import { type Application, type ApplicationInput, defineApp, isApplication } from '../../lib/app/index.ts';
import type { Topology } from '../../lib/config/index.ts';

let provided: Application | undefined;

/** Called once per container, before any handler module runs, by the bundle's injected `provide-application.ts`. */
export function provideApplication(exported: Application | ApplicationInput): void {
  provided = isApplication(exported) ? exported : defineApp(exported);
}

/** The application this bundle was built with (the config's `defineApp`): aggregates, sagas, topologies. */
export function application(): Application {
  if (!provided)
    throw new Error(
      'no application in this bundle: cdk/constructs/handler-function.ts injects functions/shared/provide-application.ts',
    );
  return provided;
}

/** The topology of the environment this function is deployed in (`MULTIACTIVE_ENV`). */
export function deployedTopology(env: string): Topology {
  return application().topology(env);
}
