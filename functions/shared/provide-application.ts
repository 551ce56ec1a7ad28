/**
 * Injected first into every Lambda bundle (esbuild `inject`): `multiactive-application` is an esbuild
 * alias of the application's config module (cdk/constructs/handler-function.ts), so the team's aggregates,
 * sagas and topologies are bundled and provided before the handler module runs its module scope.
 */
import application from 'multiactive-application';
import { provideApplication } from './application.ts';

provideApplication(application);
