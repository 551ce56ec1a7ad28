import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoControlReplica, partitionKey } from '../../../lib/ownership/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

let region: TestRegion;
let replica: DynamoControlReplica;

beforeAll(async () => {
  region = await freshRegion('eu-west-1');
  replica = new DynamoControlReplica({
    region: 'eu-west-1',
    client: region.doc,
    tableName: region.tables.control,
  });
});

const record = (epoch: number, ballot: string) => ({ epoch, ballot, value: { home: 'eu-west-1', epoch } });

describe('control table replica, batch calls', () => {
  it('reads 256 keys in batches (over the 100-key BatchGetItem limit), null where nothing is stored', async () => {
    const keys = Array.from({ length: 256 }, (_, i) => partitionKey(i));
    const stored = keys.filter((_, i) => i % 3 === 0);
    await Promise.all(stored.map((key) => replica.write(key, record(1, `b-${key}`))));

    const found = await replica.readMany(keys);

    expect(found.size).toBe(256);
    for (const key of keys) {
      if (stored.includes(key)) expect(found.get(key)).toEqual(record(1, `b-${key}`));
      else expect(found.get(key)).toBeNull();
    }
  });

  it('writes many records with the replica rule per item: a lower epoch or another ballot of the same epoch is refused', async () => {
    const [a, b, c] = ['BATCH#a', 'BATCH#b', 'BATCH#c'];
    await replica.write(a, record(5, 'x'));
    await replica.write(b, record(5, 'x'));

    const stored = await replica.writeMany([
      { key: a, record: record(6, 'y') },
      { key: b, record: record(5, 'other') },
      { key: c, record: record(1, 'z') },
    ]);

    expect(stored).toEqual([true, false, true]);
    expect(await replica.read(a)).toEqual(record(6, 'y'));
    expect(await replica.read(b)).toEqual(record(5, 'x'));
    expect(await replica.writeMany([{ key: c, record: record(1, 'z') }])).toEqual([true]);
  });

  it('writes 150 records (two transactions of at most 100) and refuses exactly the stale ones, storing the rest', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `MANY#${i}`);
    const stale = new Set(keys.filter((_, i) => i % 7 === 3));
    await Promise.all([...stale].map((key) => replica.write(key, record(9, 'held'))));

    const stored = await replica.writeMany(keys.map((key) => ({ key, record: record(2, `new-${key}`) })));

    expect(stored).toEqual(keys.map((key) => !stale.has(key)));
    const found = await replica.readMany(keys);
    for (const key of keys)
      expect(found.get(key)).toEqual(stale.has(key) ? record(9, 'held') : record(2, `new-${key}`));
  });

  it('writes a batch naming one key twice as single puts, the replica rule deciding each', async () => {
    const stored = await replica.writeMany([
      { key: 'TWICE#a', record: record(1, 'first') },
      { key: 'TWICE#a', record: record(1, 'second') },
    ]);

    expect(stored.filter(Boolean)).toHaveLength(1);
  });

  it('scans the register records of one key prefix and nothing else', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `SCAN#${i}`);
    await replica.writeMany(keys.map((key) => ({ key, record: record(3, `s-${key}`) })));
    await replica.write('SCANNOT#1', record(1, 'other'));

    const found = await replica.scan('SCAN#');

    expect([...found.keys()].sort()).toEqual([...keys].sort());
    for (const key of keys) expect(found.get(key)).toEqual(record(3, `s-${key}`));
  });
});
