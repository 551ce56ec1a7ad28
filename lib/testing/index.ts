export {
  type DeciderSpecification,
  DeciderThen,
  decider,
  type ErrorExpectation,
  GIVEN_NOW,
  type GivenEvent,
  type WhenCommand,
} from './decider.ts';
