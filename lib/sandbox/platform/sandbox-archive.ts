import { type ArchiveStore, archivePrefix, LocalDirectoryArchive } from '../../lifecycle/index.ts';
import { currentCaller, type IamEnforcement, s3ListCall, s3ObjectCall } from '../iam/index.ts';

/**
 * A region's archive bucket in the sandbox: a local directory (`LocalDirectoryArchive`, the same key
 * layout as S3: `<app>/<type>/<yyyy>/<mm>/<dd>/<id>/<seqs>.jsonl` and the index entries
 * `<app>/<type>/_by-aggregate/<id>/<yyyy-mm-dd>/<seqs>`), each call first authorized for the
 * function calling as AWS would authorize it on the bucket the synthesized templates name
 * (s3:PutObject / s3:GetObject on `arn:aws:s3:::<bucket>/<app>/<key>`, s3:ListBucket on the bucket, and
 * s3:ListBucket too for a GetObject of a missing key, as S3 answers 403 rather than 404 without it), so a
 * missing grant fails here with AccessDeniedException as it would on AWS.
 */
export class SandboxArchive implements ArchiveStore {
  private readonly local: LocalDirectoryArchive;
  private readonly prefix: string;

  constructor(
    readonly root: string,
    private readonly options: {
      /** The region's bucket (`archiveBucketName`). */
      readonly bucket: string;
      readonly app: string;
      /** The sandbox's IAM (undefined: no templates, every call allowed). */
      readonly iam: () => IamEnforcement | undefined;
    },
  ) {
    this.local = new LocalDirectoryArchive(root, { app: options.app });
    this.prefix = archivePrefix(options.app);
  }

  async put(key: string, body: string): Promise<void> {
    await this.options
      .iam()
      ?.require(
        currentCaller(),
        s3ObjectCall('s3:PutObject', this.options.bucket, `${this.prefix}${key}`),
        Buffer.byteLength(body),
      );
    await this.local.put(key, body);
  }

  async get(key: string): Promise<string | undefined> {
    const body = await this.local.get(key);
    // A missing key also needs s3:ListBucket (S3 answers 403 rather than 404 without it).
    await this.options.iam()?.require(
      currentCaller(),
      s3ObjectCall('s3:GetObject', this.options.bucket, `${this.prefix}${key}`, {
        missing: body === undefined,
      }),
      0,
    );
    return body;
  }

  async list(prefix: string): Promise<string[]> {
    await this.options.iam()?.require(currentCaller(), s3ListCall(this.options.bucket), 0);
    return this.local.list(prefix);
  }
}
