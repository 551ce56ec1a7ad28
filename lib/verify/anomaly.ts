/** One violation of an invariant found in a history or in the stores after a run. */
export interface Anomaly {
  /** Which checker found it: `core`, `linearizability`, `important`, `fencing`, `stranded`. */
  readonly checker: string;
  /** Machine-readable kind: `lost-write`, `negative-balance`, `not-linearizable`, `double-epoch`, ... */
  readonly kind: string;
  readonly key?: string;
  /** Other keys whose logs explain it (e.g. the transfer of a hold found on an account). */
  readonly related?: readonly string[];
  readonly region?: string;
  readonly message: string;
}
