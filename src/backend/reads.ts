/**
 * Device → host reads, written once for synchronous and asynchronous backends.
 *
 * A computation that decides on device values (a solve's error norm, a flow's finite-row flags)
 * asks for them as a {@link PendingRead}: the tensor to read and how its values become the
 * answer. Generators yield these (the solve loop); a sync driver answers with `dataSync`, an async
 * driver with `await data()` (as tfjs-converter's `executeAsync` does for control flow). The
 * WebGPU backend has no synchronous read in Node (and a very slow one in browsers), so there the
 * sync driver refuses with a {@link SyncReadError} that names the async form.
 *
 * Composite code that is written synchronously (a flow's log-density, the training loss and its
 * gradient) runs asynchronously by replay ({@link runDeferred}): each attempt runs the sync code
 * inside a tidy; a read it cannot answer yet aborts the attempt with the work that answers it
 * (read the value, run an async solve), which is done, awaited, logged, and the attempt re-runs
 * with the answers so far served from the log in order. The code is deterministic given those
 * answers, so the final attempt computes exactly what the sync form computes.
 */
import { tf } from './engine.js';
import { releaseAbandonedTape } from './tape.js';
import { SyncReadError } from '../errors.js';

type Tensor = tf.Tensor;

/** A value still on the device: the tensor to read, how its values become the answer, and (for checks that may be skipped) the answer to use where no read is possible. */
export interface PendingRead<T = unknown> {
  readonly tensor: Tensor;
  /** The answer from the tensor's values (what `dataSync()` or `await data()` gave). */
  finish(values: ArrayLike<number>): T;
  /** Optional reads (finiteness checks) answer this on a backend that cannot read synchronously. */
  readonly skipped?: T;
}

/** An answer now, or one the driver must read first. */
export type Read<T> = T | PendingRead<T>;

/** Whether r must still be read. */
export function isPending<T>(r: Read<T>): r is PendingRead<T> {
  return typeof r === 'object' && r !== null && 'finish' in r && (r as PendingRead<T>).tensor instanceof tf.Tensor;
}

/** `yield* settle(r)`: the answer of r inside a read-yielding generator. */
export function* settle<T>(r: Read<T>): Generator<PendingRead, T, unknown> {
  return isPending(r) ? ((yield r) as T) : r;
}

/** The generators the drivers run: they yield reads and receive their answers. */
export type ReadingSteps<T> = Generator<PendingRead, T, unknown>;

/** Whether the current backend can read a tensor synchronously (every one but WebGPU). */
export function canReadSync(): boolean {
  return forcedDeferred === 0 && tf.getBackend() !== 'webgpu';
}

let forcedDeferred = 0;

/**
 * Runs fn as if the backend could not read synchronously (the WebGPU rules on any backend): tests
 * check the async paths on wasm with it. Nestable; restored on exit.
 */
export async function asIfNoSyncReads<T>(fn: () => Promise<T>): Promise<T> {
  forcedDeferred++;
  try {
    return await fn();
  } finally {
    forcedDeferred--;
  }
}

/** Thrown inside an attempt of {@link runDeferred}: the async work that answers what it asked. */
export class PendingWork extends Error {
  constructor(readonly work: () => Promise<void>) {
    super('biflow: pending asynchronous work (internal to runDeferred; never reaches callers)');
  }
}

/** One replayed computation's answers so far, in the order the computation asks for them. */
export class DeferredRun {
  private readonly answers: unknown[] = [];
  private next = 0;
  private readonly draws: number[] = [];
  private nextDraw = 0;
  private readonly owned: { dispose(): void }[] = [];

  /** Starts an attempt: answers and draws are served from the first again. */
  rewind(): void {
    this.next = 0;
    this.nextDraw = 0;
  }

  /** The next counter value of this attempt: advanced by the first attempt, served to the later ones. */
  draw(advance: () => number): number {
    if (this.nextDraw < this.draws.length) return this.draws[this.nextDraw++]!;
    const v = advance();
    this.draws.push(v);
    this.nextDraw++;
    return v;
  }

  /**
   * The next answer of this attempt, or (first time asked) a {@link PendingWork} with the async
   * work `prepare` returns. `prepare` runs now, inside the attempt: it copies (and keeps) the
   * tensors the work needs, since the attempt's tidy frees everything else it made.
   */
  answer<T>(prepare: () => () => Promise<T>): T {
    if (this.next < this.answers.length) return this.answers[this.next++] as T;
    const work = prepare();
    throw new PendingWork(async () => {
      this.answers.push(await work());
    });
  }

  /** Frees something (a cached solution) when the run ends. */
  own(d: { dispose(): void }): void {
    this.owned.push(d);
  }

  dispose(): void {
    for (const d of this.owned.splice(0)) d.dispose();
  }
}

let active: DeferredRun | null = null;

/**
 * A counter's next value (`advance` steps it and returns it) that every attempt of a replayed
 * computation sees the same: the first attempt advances the counter, later attempts are served
 * what it gave, so the counter ends where the synchronous run leaves it. Random draws seeded by a
 * counter (a CNF's training probes, flow matching's batch noise) go through it, so the answers a
 * later attempt is served (a solve's steps, a read) were computed from the same draws.
 */
export function stableDraw(advance: () => number): number {
  return active ? active.draw(advance) : advance();
}

/** The replayed computation now running, if any. */
export function deferredRun(): DeferredRun | null {
  return active;
}

/**
 * Reads a pending value now: from the replay log inside {@link runDeferred}, by `dataSync`
 * where the backend can, the `skipped` answer for an optional read, else a {@link SyncReadError}
 * naming `fn` and its async form.
 */
export function readNow<T>(r: Read<T>, fn: string, asyncForm: string): T {
  if (!isPending(r)) return r;
  try {
    if (active) {
      if (r.skipped !== undefined) return r.skipped;
      return active.answer(() => {
        const kept = tf.keep(tf.clone(r.tensor));
        return async () => {
          try {
            return r.finish(await kept.data());
          } finally {
            kept.dispose();
          }
        };
      });
    }
    if (!canReadSync()) {
      if (r.skipped !== undefined) return r.skipped;
      throw new SyncReadError(fn, asyncForm);
    }
    return r.finish(r.tensor.dataSync());
  } finally {
    r.tensor.dispose();
  }
}

/**
 * The values of t (which it frees), read the sync way: inside {@link runDeferred} from its log,
 * else by `dataSync`, or a {@link SyncReadError} naming `fn` where the backend cannot.
 */
export function readValues(t: Tensor, fn: string): ArrayLike<number> {
  return readNow({ tensor: t, finish: (v) => v }, fn, 'its async form (e.g. Flow.logProbAsync), or runDeferred');
}

/** Reads a pending value asynchronously (and frees its tensor). */
export async function readLater<T>(r: Read<T>): Promise<T> {
  if (!isPending(r)) return r;
  try {
    return r.finish(await r.tensor.data());
  } finally {
    r.tensor.dispose();
  }
}

/** Runs read-yielding steps to the end, answering every read with {@link readNow}. */
export function driveSync<T>(steps: ReadingSteps<T>, fn: string, asyncForm: string): T {
  let sent: unknown;
  for (;;) {
    const r = steps.next(sent);
    if (r.done) return r.value;
    try {
      sent = readNow(r.value, fn, asyncForm);
    } catch (e) {
      // Let the steps' own finally/catch blocks release what they hold.
      steps.return(undefined as T);
      throw e;
    }
  }
}

/** Runs read-yielding steps to the end, awaiting every read. */
export async function driveAsync<T>(steps: ReadingSteps<T>): Promise<T> {
  let sent: unknown;
  for (;;) {
    const r = steps.next(sent);
    if (r.done) return r.value;
    try {
      sent = await readLater(r.value);
    } catch (e) {
      steps.return(undefined as T);
      throw e;
    }
  }
}

/**
 * Runs synchronous tensor code whose reads the backend may only answer asynchronously: directly
 * where sync reads exist, else by replay (see the module notes). Each attempt runs in a tidy, so
 * an aborted one leaves no tensors and no abandoned gradient tape behind; what the last attempt
 * returns belongs to the caller. One replayed computation at a time per engine.
 *
 * @example
 * ```ts
 * import { tf, runDeferred, createFlow } from 'biflow';
 *
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * // the sync code, on any backend (WebGPU included)
 * const lp = await runDeferred(() => flow.logProb(tf.randomNormal([8, 2]) as tf.Tensor2D));
 * lp.dispose();
 * ```
 */
export async function runDeferred<T>(fn: () => T): Promise<T> {
  if (canReadSync() || active) return fn();
  const run = new DeferredRun();
  try {
    for (;;) {
      run.rewind();
      active = run;
      try {
        // (tidy keeps the tensors anywhere in the result, class instances' fields included)
        return tf.tidy(fn as () => tf.TensorContainer) as T;
      } catch (e) {
        active = null;
        // An attempt that throws under a gradient tape abandons it (tfjs frees a tape only after
        // a pass that succeeds): free it, whether the attempt asked for work or really failed.
        releaseAbandonedTape();
        if (!(e instanceof PendingWork)) throw e;
        await e.work();
      } finally {
        active = null;
      }
    }
  } finally {
    run.dispose();
  }
}
