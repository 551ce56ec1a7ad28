import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Where archived events go: S3 on AWS (one bucket per region, lifecycle rules to colder classes), a local
 * directory in the sandbox and the tests. Keys are `/`-separated (see `archiveKey`).
 */
export interface ArchiveStore {
  /** Writes an object whole (a reader never sees half of it). */
  put(key: string, body: string): Promise<void>;
  /** The object's body, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
}

/**
 * An application's name as the first segment of every archive key (`<app>/<type>/<yyyy>/<mm>/<dd>/...`), so
 * one bucket or directory can hold several applications' archives; empty: keys as they are.
 */
export function archivePrefix(app: string | undefined): string {
  if (app === undefined || app === '') return '';
  if (app.includes('/') || app === '.' || app === '..')
    throw new Error(`archive prefix "${app}" must be one plain key segment (no "/")`);
  return `${app}/`;
}

/**
 * A local directory standing in for S3 (the sandbox's bucket of a region): each key a file under `root`
 * (behind the application's prefix, the same key layout as `S3ArchiveStore`), written to a temporary name
 * and renamed, so a crash never leaves half an object under its real name.
 * @example const archive = new LocalDirectoryArchive('.sandbox/archive/us-east-1', { app: 'bank' })
 */
export class LocalDirectoryArchive implements ArchiveStore {
  private readonly prefix: string;

  constructor(
    readonly root: string,
    options: { readonly app?: string } = {},
  ) {
    this.prefix = archivePrefix(options.app);
  }

  async put(key: string, body: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, body, 'utf8');
    await rename(temporary, path);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (directory: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(directory, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (!entry.name.endsWith('.tmp')) keys.push(relative(this.root, path).split(sep).join('/'));
      }
    };
    // Start at the deepest directory the prefix names: one aggregate type's objects, not the whole archive.
    const full = `${this.prefix}${prefix}`;
    const directory = full.includes('/') ? full.slice(0, full.lastIndexOf('/')) : '';
    await walk(directory === '' ? this.root : this.pathOfFull(directory));
    return keys
      .filter((key) => key.startsWith(full))
      .map((key) => key.slice(this.prefix.length))
      .sort();
  }

  /** The file of a key; a key that would leave the root (`..`, absolute) is refused. */
  private pathOf(key: string): string {
    return this.pathOfFull(`${this.prefix}${key}`);
  }

  private pathOfFull(key: string): string {
    const parts = key.split('/');
    if (key.startsWith('/') || parts.some((part) => part === '..' || part === '' || part === '.'))
      throw new Error(`archive key "${key}" is not a relative path of plain segments`);
    return join(this.root, ...parts);
  }
}
