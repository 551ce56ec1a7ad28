import type { AnySaga } from '../sagas/index.ts';

/** One participant of a saga as the cost model sees it: its aggregate, its steps, where it lives. */
export interface SagaParticipantShape {
  readonly name: string;
  readonly aggregateType: string;
  /** The saga's id is chosen in this participant's partition (`colocateWith`): same home, local steps. */
  readonly colocated: boolean;
  /** It has a Try (a reservation). */
  readonly tries: boolean;
  /** It has a Cancel. */
  readonly cancels: boolean;
}

/** A saga's participants, in order (lib/sagas/definition.ts SagaDefinition). */
export interface SagaShape {
  readonly name: string;
  readonly participants: readonly SagaParticipantShape[];
}

/** The application's sagas by saga type (its own aggregate type), as the cost model needs them. */
export type SagaShapes = Readonly<Record<string, SagaShape>>;

/** The shape of a saga definition: its participants' steps and which one shares its partition. */
export function sagaShape(saga: AnySaga): SagaShape {
  return {
    name: saga.name,
    participants: saga.participants.map((p) => ({
      name: p.name,
      aggregateType: p.aggregateType,
      colocated: p.name === saga.colocateWith,
      tries: p.try !== undefined,
      cancels: p.cancel !== undefined,
    })),
  };
}

/**
 * The shapes of an application's sagas by type: what `multiactive cost` prices and the profile's `sagas`
 * may name.
 * @example sagaShapes(application.sagas).transfer?.participants.length
 */
export function sagaShapes(sagas: readonly AnySaga[]): SagaShapes {
  return Object.fromEntries(sagas.map((saga) => [saga.name, sagaShape(saga)]));
}

/** Core writes of one aggregate type that one confirmed saga makes, by who runs them. */
export interface SagaWrite {
  readonly aggregateType: string;
  /**
   * `begin`: the API at the saga's home; `coordinator`: the saga function recording progress on the saga;
   * `participant`: a participant's Try or Confirm, sent by the saga function.
   */
  readonly by: 'begin' | 'coordinator' | 'participant';
  /** Events the write appends. */
  readonly events: number;
  /** Writes per saga. */
  readonly count: number;
  /** Participant steps not co-located with the saga: at the participant's home, which may be elsewhere. */
  readonly movable: boolean;
}

/**
 * What one confirmed saga does, read from the code that runs it:
 * - the API at the saga's home begins it (lib/sagas/begin.ts beginSaga): the saga's row caught up with its
 *   log, every participant's local row for the dry run, the BeginSaga append (SagaBegun), StartExecution;
 * - the Saga machine (cdk/constructs/sagas/saga-definition.ts, Standard) runs Try, Decide, Outcome,
 *   Confirm, Confirmed: five state transitions, three invocations of the saga function;
 * - each task loads the saga (row and log, lib/sagas/coordinator.ts load) and then, in order
 *   (coordinator.ts trySaga, decideSaga, finish): per participant with a Try, its Try at the participant
 *   (one event) and RecordTry on the saga (ParticipantTried); Decide (SagaConfirming); per participant,
 *   its Confirm (one event) and RecordStep (ParticipantConfirmed, the last one with SagaConfirmed:
 *   lib/sagas/saga-aggregate.ts recordStep).
 * A participant step runs in-process when its aggregate is homed at the saga's home, else it is forwarded
 * to its home's API (lib/sagas/routed-port.ts). Each participant command appends one event (the example
 * bank's account: HoldPlaced, HoldSettled, TransferCredited; examples/bank/account-transfers.ts).
 */
export function confirmedSaga(shape: SagaShape) {
  const tries = shape.participants.filter((p) => p.tries).length;
  const recordSteps = shape.participants.length;
  const writes: SagaWrite[] = [
    { aggregateType: shape.name, by: 'begin', events: 1, count: 1, movable: false },
    // RecordTry per Try, Decide, RecordStep per participant but the last; the last carries SagaConfirmed.
    { aggregateType: shape.name, by: 'coordinator', events: 1, count: tries + recordSteps, movable: false },
    { aggregateType: shape.name, by: 'coordinator', events: 2, count: 1, movable: false },
    ...shape.participants.map(
      (p): SagaWrite => ({
        aggregateType: p.aggregateType,
        by: 'participant',
        events: 1,
        count: (p.tries ? 1 : 0) + 1,
        movable: !p.colocated,
      }),
    ),
  ];
  return {
    writes,
    /** Saga function invocations (Try, Decide, Confirm), each loading the saga first. */
    tasks: 3,
    /** Standard workflow state transitions: Try, Decide, Outcome, Confirm, Confirmed. */
    transitions: 5,
    /** Participants whose local row the begin's dry run reads. */
    participants: shape.participants.length,
  };
}
