import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What `sandbox up` writes to `.sandbox/state.json` so other CLI calls can find it. */
export interface SandboxStateFile {
  readonly pid: number;
  readonly controlUrl: string;
  /** The web console (served by the control endpoint). */
  readonly consoleUrl?: string;
  readonly frontDoorUrl: string;
  readonly dnsPort: number;
  readonly dnsName: string;
  readonly regions: Readonly<Record<string, string>>;
  readonly startedAt: string;
  /**
   * How to call the APIs: a bearer token from the sandbox's issuer (`Authorization: Bearer <token>`), or
   * an IAM access key to sign with (`curl --aws-sigv4 "aws:amz:<region>:execute-api" --user KEY:SECRET`).
   */
  readonly auth?:
    | { readonly type: 'jwt'; readonly token: string }
    | { readonly type: 'iam'; readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** `.sandbox/state.json` under the working directory. */
export function stateFilePath(cwd = process.cwd()): string {
  return join(cwd, '.sandbox', 'state.json');
}

/** Writes the state file. */
export function writeStateFile(state: SandboxStateFile, path = stateFilePath()): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`);
}

/** Reads the state file, or undefined when no sandbox is up. */
export function readStateFile(path = stateFilePath()): SandboxStateFile | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as SandboxStateFile;
}

/** Removes the state file (on `down`). */
export function removeStateFile(path = stateFilePath()): void {
  rmSync(path, { force: true });
}
