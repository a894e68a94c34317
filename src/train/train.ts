/**
 * The training loop shared by every model: Adam (with decoupled weight decay), seeded batches,
 * logs of loss and seconds per iteration, atomic checkpoints every N iterations, and resuming a
 * run exactly where its checkpoint left it (model, optimizer state, iteration, log): a resumed run
 * ends bit for bit where the uninterrupted one does. The checkpoint folder is locked while the run
 * lasts and is written only if it is new, empty, or a run biflow wrote (see checkpoint.ts).
 *
 * It knows models only through {@link Trainable}, so it serves continuous and discrete flows alike.
 */
import path from 'node:path';
import { tf } from '../backend/engine.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { Adam } from './adam.js';
import { checkRunFolder, readRunState, restoreOptimizer, writeCheckpoint } from './checkpoint.js';
import type { LogRecord, RunState } from './checkpoint.js';
import { writeFolderAtomically } from './folders.js';
import { lockFolder } from './lock.js';

export type { LogRecord } from './checkpoint.js';

/** What the training loop needs of a model. */
export interface Trainable {
  readonly trainableVariables: tf.Variable[];
  /** The training loss on a batch (for flows: the mean negative log-likelihood). */
  loss(x: tf.Tensor2D): tf.Scalar;
  /** Data-dependent initialisation, run once on the first batch of a fresh run. */
  initialize?(x: tf.Tensor2D): void;
  /** Extra numbers to log per iteration (e.g. NFE of a CNF). */
  stats?(): Record<string, number>;
}

/** Options of {@link train}. */
export interface TrainOptions {
  iters: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  /** Log every N iterations (default 50). */
  logEvery?: number;
  /**
   * Write a checkpoint every N iterations into `checkpointDir` (0: only at the end). The folder
   * must be new, empty, or a run biflow wrote: that run is continued with `resumeFrom`, or
   * replaced with `overwrite`; anything else is refused before training. While the run lasts,
   * `<checkpointDir>.lock` keeps other writers out.
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
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Where progress goes (default: standard output). */
  write?: (s: string) => void;
}

/** What {@link train} returns: the log, iterations done and seconds spent. */
export interface TrainResult {
  history: LogRecord[];
  iters: number;
  seconds: number;
}

/** A tfjs progress line: `[=====>    ] 120/1000 loss 2.8413 0.031 s/it`. */
function bar(iter: number, total: number, rec: LogRecord): string {
  const width = 24;
  const done = Math.round((width * iter) / total);
  return `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}] ${iter}/${total} loss ${rec.loss.toFixed(4)} ${rec.secondsPerIter.toFixed(3)} s/it`;
}

/** Writes a folder atomically; `mayReplace` throws to refuse what is there (see writeFolderAtomically). */
export type FolderWriter = (dir: string, fill: (tmp: string) => Promise<void>, mayReplace?: (target: string) => void) => Promise<void>;

/**
 * Trains `model` on `data` for `iters` iterations (in total, counting a resumed run's earlier ones).
 * `writeFolder` is the atomic folder writer (default: writeFolderAtomically).
 *
 * @example
 * await train(flow, data, { iters: 2000, checkpointEvery: 100, checkpointDir: 'runs/a', saveModel: (d) => saveFlow(flow, d) });
 * const back = await loadFlow('runs/a');        // later, or in another process:
 * await train(back, data, { iters: 4000, resumeFrom: 'runs/a', checkpointDir: 'runs/a', saveModel: (d) => saveFlow(back, d) });
 */
export async function train(model: Trainable, data: Dataset, opts: TrainOptions, writeFolder: FolderWriter = writeFolderAtomically): Promise<TrainResult> {
  const fn = 'train';
  const { iters, batch = 100, lr = 1e-3, weightDecay = 0, checkpointEvery = 0, checkpointDir, resumeFrom, overwrite = false } = opts;
  if (!Number.isInteger(iters) || iters < 1) throw new InvalidArgumentError(fn, 'iters', iters, 'must be a positive integer, got {value}.');
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError(fn, 'batch', batch, 'must be a positive integer, got {value}.');
  if (!(lr > 0)) throw new InvalidArgumentError(fn, 'lr', lr, 'must be a positive number, got {value}. The usual value is 1e-3.');
  if (!(weightDecay >= 0)) throw new InvalidArgumentError(fn, 'weightDecay', weightDecay, 'must be a non-negative number, got {value}.');
  if ((checkpointEvery > 0 || checkpointDir) && (!checkpointDir || !opts.saveModel)) {
    throw new InvalidArgumentError(fn, 'checkpointDir', checkpointDir, 'and saveModel are both needed for checkpoints, got {value}.');
  }
  const release = checkpointDir ? await lockFolder(fn, checkpointDir) : null;
  try {
    // Under the lock, before any work: the output must be ours to write, the resumed run intact.
    const continuing = !!resumeFrom && !!checkpointDir && path.resolve(resumeFrom) === path.resolve(checkpointDir);
    if (checkpointDir) checkRunFolder(fn, checkpointDir, { resume: continuing, overwrite });
    const saved = resumeFrom ? readRunState(resumeFrom) : null;
    if (saved && iters < saved.iter) {
      throw new InvalidArgumentError(fn, 'iters', iters, `is below the ${saved.iter} iterations the run in ${resumeFrom} has done, got {value}. iters counts the run's earlier iterations: pass the new total.`);
    }
    const optimizer = new Adam(model.trainableVariables, { lr, weightDecay });
    try {
      if (saved) restoreOptimizer(resumeFrom!, saved, optimizer);
      return await loop(model, data, opts, optimizer, saved, checkpointDir ? (progress) => writeFolder(checkpointDir, (tmp) => writeCheckpoint(tmp, opts.saveModel!, optimizer, progress), (t) => checkRunFolder(fn, t, { overwrite: true })) : null);
    } finally {
      optimizer.dispose();
    }
  } finally {
    await release?.();
  }
}

/** The iterations themselves, from a fresh start or a restored run; `save` writes a checkpoint. */
async function loop(
  model: Trainable,
  data: Dataset,
  opts: TrainOptions,
  optimizer: Adam,
  saved: RunState | null,
  save: ((progress: Pick<RunState, 'iter' | 'history' | 'seconds'>) => Promise<void>) | null,
): Promise<TrainResult> {
  const { iters, batch = 100, lr = 1e-3, logEvery = 50, checkpointEvery = 0 } = opts;
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const mode = opts.progress === 'auto' || opts.progress === undefined ? (process.stdout.isTTY ? 'bar' : 'lines') : opts.progress;
  const vars = model.trainableVariables;
  let iter = saved?.iter ?? 0;
  const history = saved?.history ?? [];
  let seconds = saved?.seconds ?? 0;
  if (saved && iter === iters) {
    // Re-running a finished command is a no-op, not an error: the run is already where it was asked to be.
    if (mode !== 'none') write(`the run in ${opts.resumeFrom} is already at iteration ${iter} of ${iters}; nothing to train\n`);
    return { history, iters: iter, seconds };
  }
  let windowStart = performance.now();
  let windowIters = 0;
  while (iter < iters) {
    const x = tf.tensor2d(data.batch(iter, batch), [batch, data.dim]);
    if (iter === 0) model.initialize?.(x);
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => model.loss(x), vars);
    optimizer.apply(vars.map((v) => grads[v.name]));
    const loss = value.dataSync()[0]!;
    tf.dispose([x, value, ...Object.values(grads)]);
    seconds += (performance.now() - t0) / 1000;
    iter++;
    windowIters++;
    if (!Number.isFinite(loss)) throw new BiflowError(`train: the loss became ${loss} at iteration ${iter}. Lower the learning rate (lr ${lr}) or check the data for extreme values.`);
    if (iter % logEvery === 0 || iter === iters) {
      const rec: LogRecord = { iter, loss, secondsPerIter: (performance.now() - windowStart) / 1000 / windowIters, ...(model.stats?.() ?? {}) };
      history.push(rec);
      windowStart = performance.now();
      windowIters = 0;
      if (mode === 'bar') write(`\r${bar(iter, iters, rec)}${iter === iters ? '\n' : ''}`);
      else if (mode === 'lines') {
        const extra = Object.entries(rec).filter(([k]) => !['iter', 'loss', 'secondsPerIter'].includes(k)).map(([k, v]) => ` ${k} ${v}`).join('');
        write(`iter ${iter}/${iters} loss ${rec.loss.toFixed(4)} ${rec.secondsPerIter.toFixed(4)} s/it${extra}\n`);
      }
    }
    if (save && checkpointEvery > 0 && iter % checkpointEvery === 0 && iter < iters) await save({ iter, history, seconds });
  }
  if (save) await save({ iter, history, seconds });
  return { history, iters: iter, seconds };
}
