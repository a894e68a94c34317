/**
 * What a solve returns: the state at chosen times, at every step, and/or a dense interpolant.
 *
 * @example
 * SaveAt.ts([0, 0.5, 1])   // at these times (hit by interpolation, not by shortening steps)
 * SaveAt.steps()           // at t0 and the end of every accepted step
 * SaveAt.dense()           // y(t1) plus sol.evaluate(t) anywhere in [t0, t1]
 */
export interface SaveAtOptions {
  /** Times to save at, monotone in the direction of integration, within [t0, t1]. */
  ts?: ArrayLike<number>;
  /** Save t0 and every accepted step's end. */
  steps?: boolean;
  /** Keep every step's interpolant so `sol.evaluate(t)` works. */
  dense?: boolean;
  /** Save the initial state (default: false unless `ts` asks for t0). */
  t0?: boolean;
  /** Save the final state (default: true when neither `ts` nor `steps` is given). */
  t1?: boolean;
}

/** What a solve saves: the state at given times, at every step, and/or a dense interpolant. */
export class SaveAt {
  readonly ts: readonly number[] | undefined;
  readonly steps: boolean;
  readonly dense: boolean;
  readonly t0: boolean;
  readonly t1: boolean;

  constructor({ ts, steps = false, dense = false, t0 = false, t1 }: SaveAtOptions = {}) {
    this.ts = ts === undefined ? undefined : Array.from(ts);
    this.steps = steps;
    this.dense = dense;
    this.t0 = t0;
    this.t1 = t1 ?? (ts === undefined && !steps);
  }

  /** Save at the given times. */
  static ts(ts: ArrayLike<number>, { steps, dense, t0, t1 }: Omit<SaveAtOptions, 'ts'> = {}): SaveAt {
    return new SaveAt({ ts, steps, dense, t0, t1 });
  }

  /** Save t0 and the end of every accepted step. */
  static steps(opts: Omit<SaveAtOptions, 'steps'> = {}): SaveAt {
    return new SaveAt({ t0: true, ...opts, steps: true });
  }

  /** Keep a dense interpolant (and the final state). */
  static dense(opts: Omit<SaveAtOptions, 'dense'> = {}): SaveAt {
    return new SaveAt({ ...opts, dense: true });
  }
}
