import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArchiveStore,
  archiveObjects,
  dataKeyOfIndex,
  indexArchive,
  indexKeyOfData,
  LocalDirectoryArchive,
  readArchivedEvents,
  S3ArchiveStore,
} from '../../../lib/lifecycle/index.ts';
import { accountLog } from '../../support/core-history.ts';

/**
 * A bucket behind a hand-written `send`: the SDK's own command objects come in (their `input` is what the
 * SDK would serialize), S3's answers go out, NoSuchKey included. ListObjectsV2 pages by `pageSize` keys.
 */
function fakeBucket(bucket: string, pageSize = 2) {
  const objects = new Map<string, string>();
  const calls: Array<{ command: string; input: Record<string, unknown> }> = [];
  const send = async (command: unknown): Promise<unknown> => {
    const { input } = command as { input: Record<string, unknown> };
    calls.push({ command: (command as object).constructor.name, input });
    if (input.Bucket !== bucket) throw Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' });
    if (command instanceof PutObjectCommand) {
      objects.set(String(input.Key), String(input.Body));
      return { ETag: '"x"' };
    }
    if (command instanceof GetObjectCommand) {
      const body = objects.get(String(input.Key));
      if (body === undefined)
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => body } };
    }
    if (command instanceof ListObjectsV2Command) {
      const keys = [...objects.keys()].filter((k) => k.startsWith(String(input.Prefix ?? ''))).sort();
      const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
      const page = keys.slice(start, start + pageSize);
      const more = start + pageSize < keys.length;
      return {
        Contents: page.map((Key) => ({ Key })),
        IsTruncated: more,
        ...(more ? { NextContinuationToken: String(start + pageSize) } : {}),
      };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  };
  return { client: { send } as unknown as Pick<S3Client, 'send'>, objects, calls };
}

/** Each object then its index entry, as the archiver writes them (`archiveAggregate`). */
async function putArchived(store: ArchiveStore, objects: ReturnType<typeof archiveObjects>) {
  for (const object of objects) {
    await store.put(object.key, object.body);
    await store.put(object.index, object.key);
  }
}

const log = accountLog(Array.from({ length: 6 }, (_, i) => ({ type: 'Deposited' as const, amount: i + 1 })));

describe('S3ArchiveStore at the SDK boundary', () => {
  it('puts each object under <app>/<type>/<yyyy>/<mm>/<dd>/<id>/ and reads it back', async () => {
    const bucket = fakeBucket('archive-bucket');
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'archive-bucket', app: 'bank' });
    const [object] = archiveObjects(log);
    await store.put(object!.key, object!.body);
    const put = bucket.calls.find((c) => c.command === 'PutObjectCommand')!;
    expect(put.input.Key).toMatch(
      /^bank\/account\/\d{4}\/\d{2}\/\d{2}\/acc-1\/000000000001-000000000007\.jsonl$/,
    );
    expect(put.input.Body).toBe(object!.body);
    expect(put.input.ContentType).toBe('application/x-ndjson');
    expect(await store.get(object!.key)).toBe(object!.body);
  });

  it('reads a missing key as undefined, and passes other errors on', async () => {
    const bucket = fakeBucket('archive-bucket');
    expect(
      await new S3ArchiveStore({ client: bucket.client, bucket: 'archive-bucket' }).get('a/b.jsonl'),
    ).toBeUndefined();
    const wrong = new S3ArchiveStore({ client: bucket.client, bucket: 'other-bucket' });
    await expect(wrong.get('a/b.jsonl')).rejects.toThrow(/NoSuchBucket/);
  });

  it('is idempotent on retry: the same events give the same key and body, one object', async () => {
    const bucket = fakeBucket('b');
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'bank' });
    for (let attempt = 0; attempt < 3; attempt++)
      for (const object of archiveObjects(log)) await store.put(object.key, object.body);
    expect(bucket.objects.size).toBe(archiveObjects(log).length);
  });

  it('lists every page under a prefix, without the app prefix, sorted; other apps are not listed', async () => {
    const bucket = fakeBucket('b', 2);
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'bank' });
    const other = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'social' });
    for (const key of [
      'account/2026/01/03/x/3-3.jsonl',
      'account/2026/01/01/x/1-1.jsonl',
      'account/2026/01/02/y/2-2.jsonl',
    ])
      await store.put(key, 'x\n');
    await store.put('transfer/2026/01/01/t/1-1.jsonl', 'x\n');
    await other.put('account/2026/01/01/x/9-9.jsonl', 'x\n');
    expect(await store.list('account/')).toEqual([
      'account/2026/01/01/x/1-1.jsonl',
      'account/2026/01/02/y/2-2.jsonl',
      'account/2026/01/03/x/3-3.jsonl',
    ]);
    const lists = bucket.calls.filter((c) => c.command === 'ListObjectsV2Command');
    expect(lists.map((c) => c.input.ContinuationToken)).toEqual([undefined, '2']);
    expect(lists.every((c) => c.input.Prefix === 'bank/account/')).toBe(true);
  });

  it("restores one aggregate's events from the bucket (readArchivedEvents), other ids left out", async () => {
    const bucket = fakeBucket('b', 1);
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'bank' });
    const otherLog = accountLog([{ type: 'Deposited', amount: 9 }], { aggregateId: 'acc-2' });
    await putArchived(store, [...archiveObjects(log), ...archiveObjects(otherLog)]);
    bucket.calls.length = 0;
    expect(await readArchivedEvents(store, 'account', 'acc-1')).toEqual(log);
    // One listing of acc-1's own index prefix, then a GET of each data object it names: never the type's.
    const lists = bucket.calls.filter((c) => c.command === 'ListObjectsV2Command');
    expect(lists.map((c) => c.input.Prefix)).toEqual(
      Array(lists.length).fill('bank/account/_by-aggregate/acc-1/'),
    );
    const gets = bucket.calls.filter((c) => c.command === 'GetObjectCommand').map((c) => c.input.Key);
    expect(gets).toEqual(archiveObjects(log).map((o) => `bank/${o.key}`));
  });

  it('names the data object in the index key and body; an id that prefixes another reads its own only', async () => {
    const [object] = archiveObjects(log);
    expect(object!.index).toMatch(
      /^account\/_by-aggregate\/acc-1\/\d{4}-\d{2}-\d{2}\/000000000001-000000000007$/,
    );
    expect(dataKeyOfIndex(object!.index)).toBe(object!.key);
    const bucket = fakeBucket('b');
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'bank' });
    const nested = accountLog([{ type: 'Deposited', amount: 9 }], { aggregateId: 'acc-1/x' });
    await putArchived(store, [...archiveObjects(log), ...archiveObjects(nested)]);
    expect(await store.get(object!.index)).toBe(object!.key);
    expect(await readArchivedEvents(store, 'account', 'acc-1')).toEqual(log);
    expect(await readArchivedEvents(store, 'account', 'acc-1/x')).toEqual(nested);
  });

  it('indexes an archive written before the index existed (indexArchive), once', async () => {
    const bucket = fakeBucket('b');
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'bank' });
    const objects = archiveObjects(log);
    for (const object of objects) await store.put(object.key, object.body);
    expect(objects.map((o) => indexKeyOfData(o.key))).toEqual(objects.map((o) => o.index));
    expect(await readArchivedEvents(store, 'account', 'acc-1')).toEqual([]);
    expect(await indexArchive(store, 'account')).toEqual(objects.map((o) => o.index));
    expect(await readArchivedEvents(store, 'account', 'acc-1')).toEqual(log);
    expect(await indexArchive(store, 'account')).toEqual([]);
  });

  it('refuses an index entry whose data object is missing (ArchiveCorruptError), never reads it as no history', async () => {
    const bucket = fakeBucket('b');
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'bank' });
    const [object] = archiveObjects(log);
    await store.put(object!.index, object!.key);
    await expect(readArchivedEvents(store, 'account', 'acc-1')).rejects.toThrow(/named by the archive index/);
  });

  it('refuses keys that are not plain relative paths, and an app name with a slash', () => {
    const bucket = fakeBucket('b');
    const store = new S3ArchiveStore({ client: bucket.client, bucket: 'b' });
    return Promise.all([
      expect(store.put('../x.jsonl', 'x')).rejects.toThrow(/not a relative path/),
      expect(store.get('/x.jsonl')).rejects.toThrow(/not a relative path/),
      expect(
        async () => new S3ArchiveStore({ client: bucket.client, bucket: 'b', app: 'a/b' }),
      ).rejects.toThrow(/one plain key segment/),
    ]);
  });
});

describe('LocalDirectoryArchive with an application prefix', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'archive-app-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('keeps the same key layout as S3 under <root>/<app>/ and lists without the prefix', async () => {
    const bank = new LocalDirectoryArchive(root, { app: 'bank' });
    const social = new LocalDirectoryArchive(root, { app: 'social' });
    await putArchived(bank, archiveObjects(log));
    await social.put('account/2026/01/01/z/1-1.jsonl', 'x\n');
    expect(await readdir(root)).toEqual(['bank', 'social']);
    expect(await bank.list('account/')).toEqual(
      archiveObjects(log)
        .flatMap((o) => [o.key, o.index])
        .sort(),
    );
    expect(await bank.list('account/_by-aggregate/acc-1/')).toEqual(archiveObjects(log).map((o) => o.index));
    expect(await readArchivedEvents(bank, 'account', 'acc-1')).toEqual(log);
  });
});
