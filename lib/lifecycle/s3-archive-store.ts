import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Topology } from '../config/schema.ts';
import { archiveBucketName, hasRetention } from './archive-bucket.ts';
import { type ArchiveStore, archivePrefix } from './archive-store.ts';

export interface S3ArchiveStoreOptions {
  /** Anything with the S3 client's `send` (the client of the bucket's region). */
  readonly client: Pick<S3Client, 'send'>;
  /** The region's archive bucket (`multiactive-<env>-<region>-archive-<account>`, cdk/constructs/cell-archive.ts). */
  readonly bucket: string;
  /**
   * The application's name, in front of every key: `<app>/<type>/<yyyy>/<mm>/<dd>/<aggregateId>/<seqs>.jsonl`
   * (data) and `<app>/<type>/_by-aggregate/<aggregateId>/<yyyy-mm-dd>/<seqs>` (index, `archiveIndexKey`).
   */
  readonly app?: string;
}

/**
 * The archive on AWS: one object per archive key in the region's bucket, behind the application's prefix.
 * A put is a plain PutObject of the whole body (S3 never shows half an object), so a retried archive run
 * writes the same key with the same body again (the key depends only on the events): idempotent, and with
 * the bucket's versioning an overwrite never loses an older body. The archiver reads each object back and
 * compares it before any stub is written (`archiveAggregate`).
 * @example new S3ArchiveStore({ client: new S3Client({}), bucket: process.env.ARCHIVE_BUCKET, app: 'bank' })
 */
export class S3ArchiveStore implements ArchiveStore {
  private readonly client: Pick<S3Client, 'send'>;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3ArchiveStoreOptions) {
    if (options.bucket === '') throw new Error('S3ArchiveStore needs a bucket name');
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = archivePrefix(options.app);
  }

  async put(key: string, body: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keyOf(key),
        Body: body,
        ContentType: 'application/x-ndjson',
      }),
    );
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }),
      );
      if (!output.Body) return '';
      return await output.Body.transformToString('utf-8');
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.prefix}${prefix}`,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? [])
        if (object.Key?.startsWith(this.prefix)) keys.push(object.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  private keyOf(key: string): string {
    if (key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..'))
      throw new Error(`archive key "${key}" is not a relative path of plain segments`);
    return `${this.prefix}${key}`;
  }
}

/** GetObject of a key that does not exist: `NoSuchKey` (the SDK's modelled error, or its name). */
function isNoSuchKey(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Each region's archive on AWS, by region name: its bucket (`archiveBucketName`) through an S3 client of
 * that region, built once. Undefined for every region when no aggregate type has a retention (there is no
 * bucket): the readers then refuse a log holding stubs, as they always did.
 * @example const archiveOf = s3RegionArchives({ topology, app: app.name }); archiveOf('eu-west-1')
 */
export function s3RegionArchives(options: {
  readonly topology: Pick<Topology, 'name' | 'account' | 'aggregates'>;
  readonly app: string;
  /** An S3 client of a region (default: `new S3Client({ region })`). */
  readonly clientOf?: (region: string) => Pick<S3Client, 'send'>;
}): (region: string) => ArchiveStore | undefined {
  if (!hasRetention(options.topology)) return () => undefined;
  const stores = new Map<string, ArchiveStore>();
  return (region) => {
    let store = stores.get(region);
    if (!store) {
      const client = options.clientOf?.(region) ?? new S3Client({ region });
      store = new S3ArchiveStore({
        client,
        bucket: archiveBucketName(options.topology, region),
        app: options.app,
      });
      stores.set(region, store);
    }
    return store;
  };
}
