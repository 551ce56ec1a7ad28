export {
  type BeginOutcome,
  beginSaga,
  type SagaBeginDeps,
  type SagaHistoryEntry,
  sagaHistory,
  sagaStateHere,
  waitForOutcome,
} from './begin.ts';
export {
  type CoordinatorDeps,
  cancelSaga,
  confirmSaga,
  decideSaga,
  type SagaTaskInput,
  trySaga,
} from './coordinator.ts';
export {
  type AnySaga,
  defineSaga,
  type Saga,
  type SagaCatalog,
  type SagaContext,
  type SagaDefinition,
  type SagaParticipant,
  sagaCatalog,
} from './definition.ts';
export { DynamoDueSagaSource, type DynamoDueSagaSourceOptions } from './due-index.ts';
export {
  IdempotencyKeyReusedError,
  SagaError,
  SagaNotFoundError,
  SagaNotReadyError,
  SagaNotStartedError,
  SagaPhaseMismatchError,
  SagaRefusedError,
  SagaStepRefusedError,
  SagaStepRejectedError,
  SagaStepUnavailableError,
} from './errors.ts';
export {
  type AggregateView,
  type DueSaga,
  type DueSagaSource,
  SAGA_FIELD,
  type SagaCommandPort,
  type SagaExecutionInput,
  type SagaStarter,
  type StepCommand,
  type StepOutcome,
} from './ports.ts';
export { type RegionSagaOptions, type RegionSagas, regionSagas, type SagaTimers } from './region.ts';
export { RoutedCommandPort, type RoutedCommandPortOptions } from './routed-port.ts';
export { SAGA_COMMANDS, sagaAggregate } from './saga-aggregate.ts';
export { colocatedId, sagaIdFor } from './saga-id.ts';
export {
  FINISHED,
  SAGA_STATUSES,
  type SagaState,
  type SagaStatus,
  sagaDueAt,
} from './saga-state.ts';
export { StepFunctionsSagaStarter, type StepFunctionsSagaStarterOptions } from './sfn-starter.ts';
export { type SweepDeps, type SweepReport, sweepSagas } from './sweep.ts';
export {
  createSagaTaskHandler,
  SAGA_TASKS,
  type SagaTaskName,
  type SagaTaskRequest,
  UnknownSagaTaskError,
} from './tasks.ts';
