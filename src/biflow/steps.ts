/**
 * Harness code written once for both drivers: a generator yields {@link Step}s (each a sync and
 * an async way to get one answer); {@link runSteps} answers them synchronously (the public sync
 * functions, unchanged on wasm/cpu), {@link runStepsAsync} awaits them (the `…Async` forms, which
 * run on WebGPU too). Timings stay honest: each form times its own calls.
 */

/** One answer the harness needs, computed synchronously or awaited. */
export interface Step {
  sync(): unknown;
  async(): Promise<unknown>;
}

/** Harness code: yields steps, receives their answers, returns the result. */
export type Steps<T> = Generator<Step, T, unknown>;

/** `yield* both(sync, async)`: the step's answer inside a harness generator, typed. */
export function* both<T>(sync: () => T, async: () => Promise<T>): Generator<Step, T, unknown> {
  return (yield { sync, async }) as T;
}

/** Runs the steps answering each synchronously; a step's error is thrown into the generator (its finally blocks run). */
export function runSteps<T>(steps: Steps<T>): T {
  let r = steps.next();
  while (!r.done) {
    let answer: unknown;
    try {
      answer = r.value.sync();
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(answer);
  }
  return r.value;
}

/** Runs the steps awaiting each answer. */
export async function runStepsAsync<T>(steps: Steps<T>): Promise<T> {
  let r = steps.next();
  while (!r.done) {
    let answer: unknown;
    try {
      answer = await r.value.async();
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(answer);
  }
  return r.value;
}
