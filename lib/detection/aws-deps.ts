import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Topology } from '../config/schema.ts';
import { regionNames } from '../config/topology.ts';
import { DynamoControlReplica } from '../ownership/dynamodb-replica.ts';
import { QuorumRegister } from '../ownership/quorum-register.ts';
import { lagMs, WatermarkStore } from '../replication/watermarks.ts';
import { type RegionTraffic, regionTrafficKey } from '../resilience/traffic-breaker.ts';
import { tableNames } from '../store/tables.ts';
import { probeHealth } from './health-probe.ts';
import { DynamoObservationStore } from './observations.ts';
import type { WatchdogSettings } from './settings.ts';
import type { WatchdogDeps } from './watchdog.ts';

export interface AwsWatchdogOptions {
  readonly region: string;
  readonly topology: Topology;
  readonly settings: WatchdogSettings;
  /** REGION_ENDPOINTS: each region's API base URL. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** ARN of this region's Failover state machine. */
  readonly failoverStateMachineArn: string;
  readonly log?: (line: string) => void;
}

/**
 * The watchdog's deps in Lambda: a DynamoDB client per region (observations and the claim register in
 * the control tables, the local watermarks), HTTPS probes to each region's endpoint, and Step Functions
 * in this region to start the Failover.
 */
export function awsWatchdogDeps(options: AwsWatchdogOptions): WatchdogDeps {
  const { topology, region, settings } = options;
  const tables = tableNames(topology.name);
  const docs = new Map(
    regionNames(topology).map((r) => [
      r,
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: r }), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    ]),
  );
  const clientFor = (r: string) => {
    const client = docs.get(r);
    if (!client) throw new Error(`unknown region ${r}`);
    return client;
  };
  const register = new QuorumRegister({
    replicas: regionNames(topology).map(
      (r) => new DynamoControlReplica({ region: r, client: clientFor(r), tableName: tables.control }),
    ),
    callTimeoutMs: settings.readTimeoutMs,
  });
  const watermarks = new WatermarkStore({ client: clientFor(region), tableName: tables.replication });
  const sfn = new SFNClient({ region });
  return {
    region,
    regions: regionNames(topology),
    autoFailover: topology.gtm.autoFailover,
    ...settings,
    probe: (target) => {
      const url = options.endpoints[target];
      if (!url) return Promise.resolve({ verdict: 'down' as const, detail: 'no endpoint configured' });
      return probeHealth(`${url}${topology.gtm.healthCheck.path}`, { timeoutMs: settings.probeTimeoutMs });
    },
    heartbeatAgeMs: async (target) =>
      lagMs(
        Date.now(),
        (await watermarks.list()).find((w) => w.origin === target),
      ),
    observations: new DynamoObservationStore({ region, tableName: tables.control, clientFor }),
    register,
    isDrained: async (target) =>
      (await register.read<RegionTraffic>(regionTrafficKey(target)))?.value.state === 'drained',
    async startFailover(start) {
      try {
        await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: options.failoverStateMachineArn,
            name: start.name,
            input: JSON.stringify(start.input),
          }),
        );
      } catch (error) {
        // The same claim was started already (this container, or one before it): nothing to do.
        if (!(error instanceof ExecutionAlreadyExists)) throw error;
      }
    },
    ...(options.log ? { log: options.log } : {}),
  };
}
