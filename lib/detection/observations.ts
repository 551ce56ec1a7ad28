import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ProbeVerdict } from './health-probe.ts';

/** One region's latest view of a peer, as its watchdog publishes it for the other watchdogs. */
export interface Observation {
  readonly observer: string;
  readonly target: string;
  readonly verdict: ProbeVerdict;
  readonly detail: string;
  /** Consecutive `down` probes. */
  readonly failures: number;
  /** Age of the newest heartbeat (or event) the observer applied from the target; null: none ever. */
  readonly heartbeatAgeMs: number | null;
  /** The observer believes the target lost: probes failing and heartbeats silent. */
  readonly suspect: boolean;
  /** Wall-clock ms of the observation. */
  readonly at: number;
}

/** Where watchdogs publish and read observations (port). */
export interface ObservationStore {
  /** Publishes this region's observation (into its own control table). */
  publish(observation: Observation): Promise<void>;
  /** `observer`'s latest observation of `target`, read from `observer`'s table; null when none. */
  read(observer: string, target: string): Promise<Observation | null>;
}

/** Control-table key of an observation. */
export function observationKey(observer: string, target: string): { pk: string; sk: string } {
  return { pk: `WATCH#${target}`, sk: observer };
}

/**
 * Observations in the control tables: each watchdog writes its own region's table (always local, so it
 * works while the region is cut off) and reads a peer's observations from that peer's table.
 * @example new DynamoObservationStore({ region, tableName, clientFor: (r) => clients[r] })
 */
export class DynamoObservationStore implements ObservationStore {
  constructor(
    private readonly options: {
      readonly region: string;
      /** The control table's name (the same in every region). */
      readonly tableName: string;
      /** A document client for a region's tables (the local one for `region`). */
      readonly clientFor: (region: string) => DynamoDBDocumentClient;
    },
  ) {}

  /** Writes the observation to this region's control table. */
  async publish(observation: Observation): Promise<void> {
    await this.options.clientFor(this.options.region).send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: { ...observationKey(observation.observer, observation.target), observation },
      }),
    );
  }

  /** Reads `observer`'s observation of `target` from `observer`'s control table. */
  async read(observer: string, target: string): Promise<Observation | null> {
    const { Item } = await this.options
      .clientFor(observer)
      .send(new GetCommand({ TableName: this.options.tableName, Key: observationKey(observer, target) }));
    return (Item?.observation as Observation | undefined) ?? null;
  }
}
