/** One measured figure; `met` is null for reference figures that carry no target (the bench shape). */
export interface Figure {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly met: boolean | null;
}
