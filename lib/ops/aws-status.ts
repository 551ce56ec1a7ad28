import { regionNames, type Topology } from '../config/index.ts';
import { ConflictRecordStore } from '../conflict/index.ts';
import { DynamoControlReplica, QuorumRegister } from '../ownership/index.ts';
import { type RegionTraffic, regionTrafficKey } from '../resilience/traffic-breaker.ts';
import { tableNames } from '../store/index.ts';
import {
  type AwsReadClients,
  type AwsReadinessNames,
  awsReadinessSnapshot,
  awsScheduledReadiness,
} from './aws-readiness.ts';
import { evaluateReadiness, type ReadinessReport, type ReadinessSnapshot } from './readiness.ts';

/** `readiness --env`: the evaluation over what AWS shows now. */
export async function awsReadiness(
  topology: Topology,
  clients: AwsReadClients,
  names: AwsReadinessNames,
  now = new Date(),
): Promise<ReadinessReport> {
  return evaluateReadiness(await awsReadinessSnapshot(topology, clients, names, now), now);
}

/**
 * `status --env`: per region health, traffic state (read through the control quorum), lag per link, DLQ
 * depths, open conflicts, the scheduled readiness (metric and alarm) of each region; partitions per home
 * from every region's control table.
 */
export async function awsStatus(
  topology: Topology,
  clients: AwsReadClients,
  names: AwsReadinessNames,
  now = new Date(),
) {
  const snapshot: ReadinessSnapshot = await awsReadinessSnapshot(topology, clients, names, now);
  const tables = tableNames(topology.name);
  const regions = regionNames(topology);
  const register = new QuorumRegister({
    replicas: regions.map(
      (region) =>
        new DynamoControlReplica({ region, client: clients.dynamo(region), tableName: tables.control }),
    ),
    callTimeoutMs: topology.routing.forwardTimeoutMs,
  });
  const scheduled = await awsScheduledReadiness(topology, clients, names, now);
  const perRegion = await Promise.all(
    regions.map(async (region) => {
      const traffic = await register.read<RegionTraffic>(regionTrafficKey(region)).catch(() => undefined);
      const conflicts = new ConflictRecordStore({
        client: clients.dynamo(region),
        tableName: tables.replication,
      });
      const openConflicts = await conflicts.countOpen().catch(() => undefined);
      return {
        region,
        healthy: snapshot.health[region],
        traffic: traffic === undefined ? 'unknown' : (traffic?.value.state ?? 'active'),
        version: snapshot.versions[region],
        openConflicts,
        deadLetters: snapshot.deadLetters.filter((d) => d.region === region),
        // The evaluation this region's readiness function made last (every minute) and its alarm.
        readiness: scheduled.find((r) => r.region === region),
      };
    }),
  );
  return {
    env: topology.name,
    regions: perRegion,
    lag: snapshot.lag,
    alarmsInAlarm: snapshot.alarms.filter((a) => a.state === 'ALARM').map((a) => a.name),
    partitionsPerHome: snapshot.map?.perHome ?? {},
    fenced: snapshot.map?.fenced ?? [],
  };
}
