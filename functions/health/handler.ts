import { createHealthHandler, dynamoHealthProbe, RegionHealthMonitor } from '../../lib/api/index.ts';
import { cellRouting } from '../shared/cell-routing.ts';
import { cellRuntime } from '../shared/environment.ts';

const runtime = cellRuntime();
const { environment } = runtime;
const region = environment.MULTIACTIVE_REGION;
const { multiRegion, status } = cellRouting(runtime);
const traffic = multiRegion.api.breakers.traffic;

/**
 * GET /health, in a function of its own (own throttle, optionally reserved concurrency): 200 while the
 * region serves; 503 when it is drained or cannot write to its store (a probe write to the control
 * table), always within ~1.5 s. Route 53 and the watchdogs of the other regions probe it.
 */
export const handler = createHealthHandler({
  region,
  healthMonitor: new RegionHealthMonitor({
    probeWrite: dynamoHealthProbe({ client: runtime.doc, tableName: environment.TABLE_CONTROL, region }),
    traffic: () => (traffic ? traffic.traffic() : Promise.resolve({ state: 'active', changedAt: 0 })),
  }),
  breakers: multiRegion.api.breakers,
  health: async () => ({ healthy: true, replication: await status() }),
});
