import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../cdk/templates.ts';
import type { AslDefinition, StateMachineSpec } from './definitions.ts';

/**
 * ASL validation, once per definition, off the main thread.
 *
 * Why: aws-local-stepfunctions validates a definition with asl-validator in every `new StateMachine()`,
 * and asl-validator builds and compiles a fresh Ajv schema set on every call: 1-4 s of CPU on this kind
 * of machine, paid by every execution (it was most of the sandbox's Failover execution time). Step
 * Functions validates a definition once, when the state machine is created, not at StartExecution; the
 * sandbox does the same: the runner starts validating every machine when it is built, in a worker thread
 * so the regions keep serving meanwhile, and an execution waits for its machine's verdict (at once when
 * it is in) before running with the library's own validation switched off. A valid verdict is also kept on
 * disk (`.sandbox/asl-valid`, keyed by the definition, the options and the validator's version): a test run
 * starts sandboxes in many processes, each of which paid ~7 s of CPU for the same verdicts.
 */

/** The asl-validator that aws-local-stepfunctions itself calls (its own dependency, not ours). */
function libraryValidatorPath(): string {
  const local = createRequire(import.meta.url);
  return createRequire(local.resolve('aws-local-stepfunctions')).resolve('asl-validator');
}

/** The options aws-local-stepfunctions is given by the runner. */
const OPTIONS = { checkArn: false, checkPaths: false } as const;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const validate = require(workerData.validator);
for (const { key, definition } of workerData.definitions) {
  let error = null;
  try {
    const { isValid, errorsText } = validate(definition, workerData.options);
    if (!isValid) error = errorsText('\\n');
  } catch (cause) {
    error = String(cause);
  }
  parentPort.postMessage({ key, error });
}
`;

/** A definition's verdict: resolves when valid, rejects with the library's message when not. */
type Verdict = Promise<void>;

/** Verdicts by definition (with the region taken out: the same machine in every region validates once). */
const verdicts = new Map<string, Verdict>();

function keyOf(spec: StateMachineSpec): string {
  return JSON.stringify(spec.definition).replaceAll(spec.region, '<region>');
}

function invalid(errors: string): Error {
  return new Error(`State machine definition is invalid, see error(s) below:\n ${errors}`);
}

/** Where valid verdicts are kept across processes; an invalid one is always validated again. */
const VALID_DIR = join(PROJECT_ROOT, '.sandbox', 'asl-valid');

let version: string | undefined;

/** The validator's version (its package.json, above its dist/ file). */
function validatorVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  for (let dir = dirname(libraryValidatorPath()); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      version = String(JSON.parse(readFileSync(manifest, 'utf8')).version);
      break;
    }
  }
  return version;
}

/** The file that says a machine's definition was found valid (exported for its test). */
export const validVerdictFile = (spec: StateMachineSpec): string => validFile(keyOf(spec));

function validFile(key: string): string {
  const hash = createHash('sha256').update(`${validatorVersion()}\n${JSON.stringify(OPTIONS)}\n${key}`);
  return join(VALID_DIR, `${hash.digest('hex')}.valid`);
}

/** Remembers a valid definition; a cache that cannot be written only costs the next process a validation. */
function keepValid(key: string): void {
  try {
    mkdirSync(VALID_DIR, { recursive: true });
    writeFileSync(validFile(key), '');
  } catch {
    // Read-only checkout: validate again next time.
  }
}

/** Validates on the calling thread (when no worker can be started). */
async function validateHere(definition: AslDefinition): Verdict {
  const validate = createRequire(import.meta.url)(libraryValidatorPath()) as (
    definition: unknown,
    options: typeof OPTIONS,
  ) => { isValid: boolean; errorsText: (separator: string) => string };
  const { isValid, errorsText } = validate(structuredClone(definition), OPTIONS);
  if (!isValid) throw invalid(errorsText('\n'));
}

function settleInWorker(pending: Map<string, { spec: StateMachineSpec; settle: (error?: Error) => void }>) {
  const definitions = [...pending].map(([key, { spec }]) => ({ key, definition: spec.definition }));
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { validator: libraryValidatorPath(), options: OPTIONS, definitions },
    });
  } catch {
    for (const { spec, settle } of pending.values())
      validateHere(spec.definition).then(() => settle(), settle);
    return;
  }
  worker.unref();
  worker.on('message', ({ key, error }: { key: string; error: string | null }) => {
    pending.get(key)?.settle(error === null ? undefined : invalid(error));
    pending.delete(key);
  });
  // A worker that died leaves its remaining definitions to the calling thread.
  const fallBack = () => {
    for (const { spec, settle } of pending.values())
      validateHere(spec.definition).then(() => settle(), settle);
    pending.clear();
  };
  worker.on('error', fallBack);
  worker.on('exit', fallBack);
}

/**
 * Starts validating every machine not validated yet in this process; returns each machine's verdict by
 * name and region. Call once when the machines are loaded; await a verdict before the first execution.
 */
export function validateMachines(specs: readonly StateMachineSpec[]): Map<StateMachineSpec, Verdict> {
  const pending = new Map<string, { spec: StateMachineSpec; settle: (error?: Error) => void }>();
  const out = new Map<StateMachineSpec, Verdict>();
  for (const spec of specs) {
    const key = keyOf(spec);
    let verdict = verdicts.get(key);
    if (!verdict && existsSync(validFile(key))) {
      verdict = Promise.resolve();
      verdicts.set(key, verdict);
    }
    if (!verdict) {
      verdict = new Promise<void>((resolve, reject) => {
        pending.set(key, {
          spec,
          settle: (error) => {
            if (error) return reject(error);
            keepValid(key);
            resolve();
          },
        });
      });
      // Nobody may ever run this machine: its rejection must not count as unhandled.
      verdict.catch(() => undefined);
      verdicts.set(key, verdict);
    }
    out.set(spec, verdict);
  }
  if (pending.size > 0) settleInWorker(pending);
  return out;
}
