export type { StepOutcome } from './clients.ts';
export { FAULT_KINDS, FAULTS_TODO, type FaultKind, faultKindsFor, type InjectedFault } from './nemesis.ts';
export {
  type ChaosCheckInput,
  type ChaosCheckResult,
  type ChaosClientContext,
  type ChaosPlugin,
  type ChaosRequest,
  defineChaosPlugin,
} from './plugin.ts';
export { formatChaosReport } from './report.ts';
export { type ChaosFigure, type ChaosOptions, type ChaosReport, runChaos } from './run.ts';
export type { RunbookRun } from './runbook-starter.ts';
export { skewBounds } from './simple-faults.ts';
