/**
 * Events: zero crossings of g(t, y), located on the step interpolant.
 *
 * A crossing is counted when g changes sign strictly inside or at the end of a step, in the
 * requested direction; a zero at the step's start (e.g. a restart from a previous event) does
 * not count again.
 */
import { InvalidArgumentError } from '../errors.js';
import { tf } from '../backend/engine.js';
import { driveSync, settle } from '../backend/reads.js';
import type { Read, ReadingSteps } from '../backend/reads.js';

export type EventDirection = 'rising' | 'falling' | 'both';

/** An event function g(t, y) whose zero crossings a solve locates (and may stop at). */
export interface OdeEvent<Y> {
  /**
   * Event function; the event happens where it crosses zero. Do not keep `y`: it is a work buffer.
   * Tensor states may return a scalar tensor (the solve reads it, and frees it; under `solveAsync`
   * asynchronously).
   */
  g(t: number, y: Y): number | tf.Tensor;
  /** Which crossings count: upward (`rising`), downward (`falling`) or both (default). */
  direction?: EventDirection;
  /** Stop the solve at the first such event (default false). */
  terminal?: boolean;
  /** A label reported with each occurrence. */
  name?: string;
}

/** An event located during a solve: its name, time, state and crossing direction. */
export interface EventRecord<Y> {
  /** Position of the event in the `events` array. */
  index: number;
  name: string | undefined;
  t: number;
  y: Y;
  /** +1 for an upward crossing, −1 for a downward one. */
  direction: 1 | -1;
  terminal: boolean;
}

/** +1/−1 if (g0, g1) is a crossing allowed by `direction`, else 0. */
export function crossing(g0: number, g1: number, direction: EventDirection): 0 | 1 | -1 {
  if (g0 < 0 && g1 >= 0 && direction !== 'falling') return 1;
  if (g0 > 0 && g1 <= 0 && direction !== 'rising') return -1;
  return 0;
}

/**
 * Root of φ on [0, 1] given φ(0) = g0 and φ(1) = g1 of opposite signs (or g1 = 0), by the
 * Illinois variant of regula falsi, to |bracket| ≤ xtol. Returns the end of the final bracket
 * on g1's side, so the located state is at or just past the crossing.
 */
export function locateRoot(phi: (x: number) => number, g0: number, g1: number, xtol: number): number {
  return driveSync(locateRootSteps(phi, g0, g1, xtol), 'locateRoot', 'solveAsync');
}

/** An event function's value as a read: a tensor value is read by the solve's driver. */
export function eventValue(v: number | tf.Tensor): Read<number> {
  return v instanceof tf.Tensor ? { tensor: v, finish: (x) => x[0]! } : v;
}

/** {@link locateRoot} as steps that yield the reads of φ's values. */
export function* locateRootSteps(phi: (x: number) => Read<number>, g0: number, g1: number, xtol: number): ReadingSteps<number> {
  if (g1 === 0) return 1;
  let a = 0;
  let fa = g0;
  let b = 1;
  let fb = g1;
  let side = 0;
  for (let iter = 0; iter < 200 && b - a > xtol; iter++) {
    let c = (a * fb - b * fa) / (fb - fa);
    if (!(c > a && c < b)) c = 0.5 * (a + b);
    const fc = yield* settle(phi(c));
    if (fc === 0) return c;
    if (Math.sign(fc) === Math.sign(fb)) {
      b = c;
      fb = fc;
      if (side === -1) fa /= 2;
      side = -1;
    } else {
      a = c;
      fa = fc;
      if (side === 1) fb /= 2;
      side = 1;
    }
  }
  return b;
}

export function checkEvents<Y>(events: readonly OdeEvent<Y>[] | undefined, fn: string): readonly OdeEvent<Y>[] {
  if (events === undefined) return [];
  if (!Array.isArray(events)) throw new InvalidArgumentError(fn, 'events', events, 'must be an array of { g, direction?, terminal? }, got {value}.');
  events.forEach((ev, i) => {
    if (ev == null || typeof ev.g !== 'function') {
      throw new InvalidArgumentError(fn, `events[${i}].g`, ev?.g, 'must be a function (t, y) => number, got {value}. Pass e.g. { g: (t, y) => y[0], terminal: true }.');
    }
    const d = ev.direction ?? 'both';
    if (d !== 'rising' && d !== 'falling' && d !== 'both') {
      throw new InvalidArgumentError(fn, `events[${i}].direction`, d, `must be 'rising', 'falling' or 'both', got {value}.`);
    }
  });
  return events;
}
