export { FAULT_KINDS, FAULTS_TODO, type FaultKind, type InjectedFault, type RunbookRun } from './nemesis.ts';
export { formatChaosReport } from './report.ts';
export { type ChaosFigure, type ChaosOptions, type ChaosReport, runChaos } from './run.ts';
