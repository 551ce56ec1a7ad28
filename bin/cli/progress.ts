import ora, { type Ora } from 'ora';
import type { ExecutionProgress } from '../../lib/ops/follow.ts';
import type { ExecutionStep } from '../../lib/ops/history.ts';

const secs = (a: number, b: number | undefined) => `${(((b ?? Date.now()) - a) / 1000).toFixed(1)} s`;

function label(step: ExecutionStep): string {
  const loops = step.visits > 1 ? ` ×${step.visits}` : '';
  const map = step.iterations
    ? ` ${step.iterations.done}/${step.iterations.total ?? '?'}${step.iterations.failed ? ` (${step.iterations.failed} failed)` : ''}`
    : '';
  return `${step.name}${loops}${map}`;
}

/**
 * Renders an execution's steps as they happen with ora (on stderr, so `--json` stdout stays clean): a
 * spinner on the running step, a persisted line for each finished one. Silent when `enabled` is false.
 */
export function stepRenderer(enabled: boolean): { update: (p: ExecutionProgress) => void; stop: () => void } {
  const printed = new Set<string>();
  let spinner: Ora | undefined;
  const spin = () => (spinner ??= ora({ stream: process.stderr }).start());
  return {
    update({ execution, steps }) {
      if (!enabled) return;
      for (const step of steps) {
        const key = `${step.name}#${step.visits}#${step.status}`;
        if (step.status === 'running' || printed.has(key)) continue;
        printed.add(key);
        const text = `${label(step)}  ${secs(step.startedAt, step.endedAt)}${step.error ? `  ${step.error}` : ''}`;
        if (step.status === 'failed') spin().fail(text);
        else if (step.status === 'aborted') spin().warn(`${text}  aborted`);
        else spin().succeed(text);
        spinner = undefined;
      }
      const running = steps.find((s) => s.status === 'running');
      if (running && execution.status === 'RUNNING')
        spin().text = `${label(running)}  ${secs(running.startedAt, undefined)}`;
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}

/** A spinner showing the latest line of a long operation (sandbox start, drill), lines kept above it. */
export function lineSpinner(
  enabled: boolean,
  title: string,
): { line: (text: string) => void; done: (ok: boolean, text: string) => void } {
  const spinner = enabled ? ora({ stream: process.stderr, text: title }).start() : undefined;
  return {
    line(text) {
      if (!spinner) return;
      spinner.stopAndPersist({ symbol: '·', text });
      spinner.start(title);
    },
    done(ok, text) {
      if (!spinner) return;
      if (ok) spinner.succeed(text);
      else spinner.fail(text);
    },
  };
}
