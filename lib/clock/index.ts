export { HybridLogicalClock, type HybridLogicalClockOptions } from './clock.ts';
export {
  ClockDriftError,
  compareHlc,
  decodeHlc,
  encodeHlc,
  type Hlc,
  InvalidHlcError,
  isEncodedHlc,
  MAX_LOGICAL,
} from './hlc.ts';
export {
  CAUSAL_ORDER,
  type CausalOrder,
  compareVectors,
  dominates,
  incrementVector,
  mergeVectors,
  type VersionVector,
  vectorSize,
} from './version-vector.ts';
