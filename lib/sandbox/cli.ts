import './polyfills.ts';
import { exampleAggregates } from '../../events/index.ts';
import { createApiHandler } from '../api/index.ts';
import { HybridLogicalClock } from '../clock/index.ts';
import { loadTopology, regionNames } from '../config/index.ts';
import { createRegistry } from '../model/index.ts';
import { createTables, EventStore, StateStore, tableNames } from '../store/index.ts';
import { localClients } from './dynamodb/clients.ts';
import { type DynamoLocal, startDynamoLocal } from './dynamodb/local.ts';
import { serveApi } from './http-server.ts';

const USAGE = `usage: multiactive start [--once] [--regions N]`;

interface StartOptions {
  once: boolean;
  regions: number;
}

function parseStart(args: string[]): StartOptions {
  const options: StartOptions = { once: false, regions: 3 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--once') options.once = true;
    else if (arg === '--regions') options.regions = Number(args[++i]);
    else throw new UsageError(`unknown option "${arg}"`);
  }
  if (!Number.isInteger(options.regions) || options.regions < 2 || options.regions > 3) {
    throw new UsageError('--regions must be 2 or 3');
  }
  return options;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Starts one DynamoDB Local and one regional API per region, and writes a few commands through each. */
async function start(options: StartOptions): Promise<number> {
  const topology = loadTopology('dev');
  const regions = regionNames(topology).slice(0, options.regions);
  const registry = createRegistry(exampleAggregates, topology);
  const processes: DynamoLocal[] = [];
  const stop = async () => Promise.all(processes.map((p) => p.stop()));
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const urls: Record<string, string> = {};
    for (const [index, region] of regions.entries()) {
      console.log(`[${index + 1}/${regions.length}] starting DynamoDB Local for ${region}...`);
      const dynamo = await startDynamoLocal();
      processes.push(dynamo);
      const clients = localClients(dynamo.endpoint, region);
      await createTables(clients.dynamodb, topology.name);
      const tables = tableNames(topology.name);
      const handler = createApiHandler({
        registry,
        events: new EventStore({ client: clients.doc, tableName: tables.events }),
        states: new StateStore({ client: clients.doc, tableName: tables.state }),
        clock: new HybridLogicalClock({ region }),
        region,
        partitions: topology.partitions,
      });
      urls[region] = (await serveApi({ handler, region })).url;
    }
    for (const region of regions) {
      const url = urls[region]!;
      const post = (path: string, body: unknown) =>
        fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
      await post(`/v1/account/acct-${region}/commands`, {
        type: 'OpenAccount',
        payload: { owner: region, currency: 'EUR' },
      });
      const deposit = (await post(`/v1/account/acct-${region}/commands`, {
        type: 'Deposit',
        payload: { amount: 100 },
      })) as {
        state: unknown;
      };
      console.log(`${region}: account acct-${region} -> ${JSON.stringify(deposit.state)}`);
    }
    console.log('\nregional APIs:');
    for (const [region, url] of Object.entries(urls)) console.log(`  ${region.padEnd(16)} ${url}`);
    if (options.once) {
      await stop();
      return 0;
    }
    console.log('\nserving; Ctrl-C to stop');
    await new Promise(() => {});
    return 0;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  try {
    if (command === 'start') return await start(parseStart(rest));
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`multiactive: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
if (process.exitCode === 0) process.exit(0);
