/**
 * The training loop shared by every model: Adam (with decoupled weight decay), seeded batches,
 * logs of loss and seconds per iteration, callbacks, validation with early stopping, an
 * AbortSignal, and checkpoints through a {@link Checkpointer}: a resumed run ends bit for bit
 * where the uninterrupted one does.
 *
 * It imports nothing Node-only, so browsers run it too; the Node entry (node.ts) gives it the
 * file-system checkpointer (folder locks, atomic writes, the save rule). It knows models only
 * through {@link Trainable}, so it serves continuous and discrete flows alike.
 */
import { tf } from '../backend/engine.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { Adam } from './adam.js';
import { EarlyStopping } from './early-stopping.js';
import type { EarlyStoppingOptions } from './early-stopping.js';
import { Progress } from './progress.js';
import type { LogRecord, ProgressMode } from './progress.js';
import type { Checkpointer, CheckpointSession, RunProgress } from './checkpointer.js';
import { runDeferred } from '../backend/reads.js';
import { checkTrainOptions, validationRows } from './train-options.js';

export type { LogRecord } from './progress.js';

/** What the training loop needs of a model. */
export interface Trainable {
  readonly trainableVariables: tf.Variable[];
  /** The training loss on a batch (for flows: the mean negative log-likelihood); `context`: the batch's context rows, for a conditional dataset. */
  loss(x: tf.Tensor2D, context?: tf.Tensor2D): tf.Scalar;
  /** Data-dependent initialisation, run once on the first batch of a fresh run (with its context rows, if any). */
  initialize?(x: tf.Tensor2D, context?: tf.Tensor2D): void;
  /** Extra numbers to log per iteration (e.g. NFE of a CNF). */
  stats?(): Record<string, number>;
  /** The validation score of held-out rows (row-major, `dim` columns; with their context rows for a conditional dataset), lower is better; for flows the exact mean NLL in nats. Needed for `validation`. */
  evaluate?(rows: Float32Array, context?: Float32Array): number;
}

/** What onIterationEnd receives: the iteration's loss and the model's stats (e.g. NFE). */
export interface IterationLogs {
  loss: number;
  [key: string]: number;
}

/**
 * Called during training, as tfjs's `model.fit` callbacks are; each may return a promise, which
 * the loop awaits before it goes on (so a callback can also yield to a page's event loop).
 */
export interface TrainCallbacks {
  /** After every iteration (`iter` counts from 1, including a resumed run's earlier ones). */
  onIterationEnd?: (iter: number, logs: IterationLogs) => void | Promise<void>;
  /** After every validation (every `evalEvery` iterations and at the end). */
  onEvaluation?: (iter: number, logs: { validationNll: number }) => void | Promise<void>;
  /** After every checkpoint is written; `dir` is where. */
  onCheckpoint?: (iter: number, dir: string) => void | Promise<void>;
}

/** Options of {@link train}. */
export interface TrainOptions {
  iters: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  /** Log (and print a line) every N iterations (default 50). */
  logEvery?: number;
  /**
   * Write a checkpoint every N iterations into `checkpointDir` (0: only at the end). In Node the
   * folder must be new, empty, or a run biflow wrote: that run is continued with `resumeFrom`, or
   * replaced with `overwrite`; anything else is refused before training. While the run lasts,
   * `<checkpointDir>.lock` keeps other writers out. In a browser, checkpoints need a
   * {@link Checkpointer} as train's 4th argument.
   */
  checkpointEvery?: number;
  checkpointDir?: string;
  /** Writes the model into a folder (e.g. saveFlow). Needed for checkpoints. */
  saveModel?: (dir: string) => Promise<void>;
  /**
   * Continue the run stored in this checkpoint folder (the model must already hold its weights,
   * e.g. from loadFlow of its model/). `iters` is the total: equal to the run's iteration, nothing
   * is trained; below it, an error.
   */
  resumeFrom?: string;
  /** Replace the run already in `checkpointDir` with a new one (default false: refuse). */
  overwrite?: boolean;
  /** 'bar' on a terminal, plain lines otherwise (default 'auto'); 'none' for silence. */
  progress?: ProgressMode;
  /** Where progress goes (default: standard error in Node, nowhere in browsers). */
  write?: (s: string) => void;
  /** Called after each iteration, evaluation and checkpoint; awaited. */
  callbacks?: TrainCallbacks;
  /**
   * Held-out rows scored with the model's `evaluate` (for flows the exact NLL, `flow.nll`) every
   * `evalEvery` iterations and at the end: row-major rows of the data's `dim`, or a dataset's
   * validation split (`{ validation }`, as loadTabular returns).
   */
  validation?: Float32Array | { validation: Float32Array };
  /** A conditional dataset's validation context rows, one per validation row (row-major, `data.context.dim` columns). */
  validationContext?: Float32Array;
  /** Validate every N iterations (default: logEvery). */
  evalEvery?: number;
  /** Stop when the validation NLL stops improving (needs `validation`). */
  earlyStopping?: EarlyStoppingOptions;
  /**
   * Stops training after the current iteration when aborted: train then writes its final
   * checkpoint (if checkpointing) and resolves with `aborted: true`, as tfjs's `fit` resolves when
   * `stopTraining` is set; it does not reject (the model and its log are the result).
   */
  signal?: AbortSignal;
}

/** What {@link train} returns: the log, iterations done, seconds spent, and how it ended. */
export interface TrainResult {
  history: LogRecord[];
  /** The run's iteration at the end (including a resumed run's earlier ones). */
  iters: number;
  seconds: number;
  /** Every validation: after which iteration, and the score. */
  evaluations: { iter: number; validationNll: number }[];
  /** The signal stopped the run before `iters`. */
  aborted: boolean;
  /** Early stopping ended the run; `bestIter` is its best evaluation's iteration. */
  stoppedEarly: boolean;
  bestIter?: number;
}

/**
 * Trains `model` on `data` for `iters` iterations (in total, counting a resumed run's earlier ones).
 * This is the loop without a file system: checkpoints (`checkpointDir`, `resumeFrom`) need a
 * `checkpointer`. The Node entry's `train` is this loop with the file-system checkpointer.
 *
 * @example
 * ```ts
 * import { createFlow, toyData, train } from 'biflow';
 * const data = { name: 'moons', dim: 2, batch: (i: number, n: number) => toyData('moons', n, i + 1), test: toyData('moons', 500, -1) };
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * const stop = new AbortController();             // stop.abort(): ends the run after its current iteration
 * const r = await train(flow, data, {
 *   iters: 300, validation: data.test, evalEvery: 50, earlyStopping: { patience: 3, restoreBestWeights: true },
 *   signal: stop.signal,
 *   callbacks: { onIterationEnd: (iter, { loss }) => { if (iter % 100 === 0) console.log(iter, loss); } },
 * });
 * console.log(r.aborted, r.stoppedEarly, r.evaluations.at(-1));
 * ```
 */
export async function train(model: Trainable, data: Dataset, opts: TrainOptions, checkpointer?: Checkpointer): Promise<TrainResult> {
  const fn = 'train';
  checkTrainOptions(fn, model, data, opts);
  const { iters, lr = 1e-3, weightDecay = 0, checkpointDir, resumeFrom } = opts;
  if ((checkpointDir || resumeFrom) && !checkpointer) {
    const [arg, value] = checkpointDir ? ['checkpointDir', checkpointDir] : ['resumeFrom', resumeFrom];
    throw new InvalidArgumentError(fn, arg, value, 'needs somewhere to keep checkpoints, got {value}: in Node import train from biflow (it writes folders); in a browser pass a Checkpointer as train\'s 4th argument, or leave checkpoints out.');
  }
  const session = checkpointer && (checkpointDir || resumeFrom) ? await checkpointer.open(fn, opts) : null;
  try {
    const saved = session?.resumed ?? null;
    if (saved && iters < saved.iter) {
      throw new InvalidArgumentError(fn, 'iters', iters, `is below the ${saved.iter} iterations the run in ${resumeFrom} has done, got {value}. iters counts the run's earlier iterations: pass the new total.`);
    }
    const optimizer = new Adam(model.trainableVariables, { lr, weightDecay });
    try {
      if (saved) session!.restore(optimizer);
      return await loop(model, data, opts, optimizer, saved, checkpointDir ? session : null);
    } finally {
      optimizer.dispose();
    }
  } finally {
    await session?.close();
  }
}

/** The iterations themselves, from a fresh start or a restored run; `session` writes checkpoints. */
async function loop(model: Trainable, data: Dataset, opts: TrainOptions, optimizer: Adam, saved: RunProgress | null, session: CheckpointSession | null): Promise<TrainResult> {
  const { iters, batch = 100, lr = 1e-3, logEvery = 50, checkpointEvery = 0, callbacks = {}, signal, earlyStopping } = opts;
  const evalEvery = opts.evalEvery ?? logEvery;
  const rows = validationRows(opts.validation);
  const progress = Progress.of(opts.progress, opts.write, iters);
  const vars = model.trainableVariables;
  let iter = saved?.iter ?? 0;
  const history = saved?.history ?? [];
  let seconds = saved?.seconds ?? 0;
  const result = (extra: Partial<TrainResult> = {}): TrainResult => ({ history, iters: iter, seconds, evaluations, aborted: false, stoppedEarly: false, ...extra });
  const evaluations: TrainResult['evaluations'] = [];
  if (saved && iter === iters) {
    // Re-running a finished command is a no-op, not an error: the run is already where it was asked to be.
    progress.say(`the run in ${opts.resumeFrom} is already at iteration ${iter} of ${iters}; nothing to train`);
    return result();
  }
  const save = async () => {
    if (!session?.save) return;
    const dir = await session.save(optimizer, { iter, history, seconds });
    await callbacks.onCheckpoint?.(iter, dir);
  };
  const stopper = earlyStopping ? new EarlyStopping(vars, earlyStopping) : null;
  let windowStart = performance.now();
  let windowIters = 0;
  let loss: number | undefined;
  const log = () => {
    const rec: LogRecord = { iter, loss: loss!, secondsPerIter: (performance.now() - windowStart) / 1000 / windowIters, ...(model.stats?.() ?? {}) };
    history.push(rec);
    progress.record(rec);
    windowStart = performance.now();
    windowIters = 0;
  };
  let stoppedEarly = false;
  try {
    while (iter < iters && !signal?.aborted && !stoppedEarly) {
      const x = tf.tensor2d(data.batch(iter, batch), [batch, data.dim]);
      // A conditional dataset's context rows, drawn for the same rows as x.
      const c = data.context ? tf.tensor2d(data.context.batch(iter, batch), [batch, data.context.dim]) : undefined;
      let t0 = 0;
      try {
        if (iter === 0) await runDeferred(() => model.initialize?.(x, c));
        t0 = performance.now();
        // runDeferred: the same step where reads are synchronous; on WebGPU its adaptive solves and
        // their adjoint passes are awaited (the loss and its tape replayed with the answers).
        const { value, grads } = await runDeferred(() => tf.variableGrads(() => model.loss(x, c), vars));
        optimizer.apply(vars.map((v) => grads[v.name]));
        try {
          // Read asynchronously: on WebGL/WebGPU a synchronous read stalls the page.
          loss = (await value.data())[0]!;
        } finally {
          tf.dispose([value, ...Object.values(grads)]);
        }
      } finally {
        tf.dispose(c ? [x, c] : [x]);
      }
      const dt = (performance.now() - t0) / 1000;
      seconds += dt;
      iter++;
      windowIters++;
      if (!Number.isFinite(loss)) throw new BiflowError(`train: the loss became ${loss} at iteration ${iter}. Lower the learning rate (lr ${lr}) or check the data for extreme values.`);
      progress.iteration(iter, loss, dt);
      if (iter % logEvery === 0 || iter === iters) log();
      await callbacks.onIterationEnd?.(iter, { loss, ...(model.stats?.() ?? {}) });
      if (rows && (iter % evalEvery === 0 || iter === iters)) {
        const validationNll = await runDeferred(() => model.evaluate!(rows, opts.validationContext));
        evaluations.push({ iter, validationNll });
        await callbacks.onEvaluation?.(iter, { validationNll });
        stoppedEarly = stopper?.update(iter, validationNll) ?? false;
      }
      if (checkpointEvery > 0 && iter % checkpointEvery === 0 && iter < iters && !stoppedEarly) await save();
    }
    // Stopped before iters (signal, early stopping): the last iteration still gets its record.
    if (windowIters > 0) log();
    // The checkpoint holds the run as it is (the last weights), so resuming it continues this run exactly.
    await save();
    stopper?.restore();
    progress.finish(iter, loss);
    return result({ aborted: iter < iters && !stoppedEarly && !!signal?.aborted, stoppedEarly, ...(stopper ? { bestIter: stopper.bestIter } : {}) });
  } finally {
    stopper?.dispose();
  }
}
