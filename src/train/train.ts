/**
 * The training loop shared by every model: Adam (with decoupled weight decay), seeded batches,
 * logs of loss and seconds per iteration, atomic checkpoints every N iterations, and resuming a
 * run exactly where its checkpoint left it (model, optimizer moments, iteration, log).
 *
 * It knows models only through {@link Trainable}, so it serves continuous and discrete flows alike.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend/engine.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { flowMatchingObjective } from '../ffjord/flow-matching.js';
import type { Objective } from '../ffjord/flow-matching.js';

/** What the training loop needs of a model. */
export interface Trainable {
  readonly trainableVariables: tf.Variable[];
  /** The training loss on a batch (for flows: the mean negative log-likelihood). */
  loss(x: tf.Tensor2D): tf.Scalar;
  /** Data-dependent initialisation, run once on the first batch of a fresh run. */
  initialize?(x: tf.Tensor2D): void;
  /** Extra numbers to log per iteration (e.g. NFE of a CNF). */
  stats?(): Record<string, number>;
  /** Mean NLL in nats of held-out rows (what `evalEvery` logs as `testNll`). */
  nll?(rows: Float32Array): number;
}

/** One line of the training log. */
export interface LogRecord {
  iter: number;
  loss: number;
  secondsPerIter: number;
  [key: string]: number;
}

/** Options of {@link train}. */
export interface TrainOptions {
  iters: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  /** Log every N iterations (default 50). */
  logEvery?: number;
  /** Write a checkpoint every N iterations into `checkpointDir` (0: only at the end). */
  checkpointEvery?: number;
  checkpointDir?: string;
  /** Writes the model into a folder (e.g. saveFlow). Needed for checkpoints. */
  saveModel?: (dir: string) => Promise<void>;
  /** Continue the run stored in this checkpoint folder (the model must already hold its weights). */
  resumeFrom?: string;
  /** 'bar' on a terminal, plain lines otherwise (default 'auto'); 'none' for silence. */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Where progress goes (default: standard output). */
  write?: (s: string) => void;
  /**
   * 'ml' (default): the model's own loss (maximum likelihood). 'cfm' / 'ot-cfm': flow matching
   * of the flow's CNF block (see ffjord/flow-matching.ts), with path width `sigma` (default 0).
   */
  objective?: Objective;
  sigma?: number;
  /** Seed of the objective's own draws (flow matching's base samples and times; default 0). */
  seed?: number;
  /** Every N iterations, the held-out NLL of `data.test` (model.nll) logged as `testNll`, outside the timed steps (0: never). */
  evalEvery?: number;
}

/** What {@link train} returns: the log, iterations done and seconds spent. */
export interface TrainResult {
  history: LogRecord[];
  iters: number;
  seconds: number;
}

interface TrainState {
  format: 'biflow-train';
  iter: number;
  history: LogRecord[];
  seconds: number;
  optimizer: { names: string[]; specs: tf.io.WeightsManifestEntry[] };
}

const STATE_FILE = 'train.json';
const OPTIMIZER_FILE = 'optimizer.bin';

/** Saves model, optimizer state and progress into `dir` atomically (via `writeFolder`). */
async function checkpoint(
  dir: string,
  opts: TrainOptions,
  optimizer: tf.Optimizer,
  state: Omit<TrainState, 'format' | 'optimizer'>,
  writeFolder: (dir: string, fill: (tmp: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights.map((w, i) => ({ name: `o${i}`, tensor: w.tensor })));
  const record: TrainState = { format: 'biflow-train', ...state, optimizer: { names: weights.map((w) => w.name), specs } };
  await writeFolder(dir, async (tmp) => {
    await opts.saveModel!(path.join(tmp, 'model'));
    await writeFile(path.join(tmp, OPTIMIZER_FILE), new Uint8Array(data));
    await writeFile(path.join(tmp, STATE_FILE), JSON.stringify(record));
  });
}

async function restore(dir: string, optimizer: tf.Optimizer): Promise<TrainState> {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) throw new BiflowError(`train: ${file} does not exist. Resume from a folder written by a checkpoint (it holds ${STATE_FILE}).`);
  const state = JSON.parse(await readFile(file, 'utf8')) as TrainState;
  if (state.format !== 'biflow-train') throw new BiflowError(`train: ${file} is not a biflow training state. Resume from a checkpoint folder.`);
  const bytes = await readFile(path.join(dir, OPTIMIZER_FILE));
  const decoded = tf.io.decodeWeights(new Uint8Array(bytes).buffer as ArrayBuffer, state.optimizer.specs);
  await optimizer.setWeights(state.optimizer.names.map((name, i) => ({ name, tensor: decoded[`o${i}`]! })));
  return state;
}

/** A tfjs progress line: `[=====>    ] 120/1000 loss 2.8413 0.031 s/it`. */
function bar(iter: number, total: number, rec: LogRecord): string {
  const width = 24;
  const done = Math.round((width * iter) / total);
  return `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}] ${iter}/${total} loss ${rec.loss.toFixed(4)} ${rec.secondsPerIter.toFixed(3)} s/it`;
}

/**
 * Trains `model` on `data` for `iters` iterations (in total, counting a resumed run's earlier ones).
 * `writeFolder` is the atomic folder writer (biflow's writeFolderAtomically).
 */
export async function train(
  trained: Trainable,
  data: Dataset,
  opts: TrainOptions,
  writeFolder: (dir: string, fill: (tmp: string) => Promise<void>) => Promise<void>,
): Promise<TrainResult> {
  const fn = 'train';
  const { iters, batch = 100, lr = 1e-3, weightDecay = 0, logEvery = 50, checkpointEvery = 0, checkpointDir } = opts;
  if (!Number.isInteger(iters) || iters < 1) throw new InvalidArgumentError(fn, 'iters', iters, 'must be a positive integer, got {value}.');
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError(fn, 'batch', batch, 'must be a positive integer, got {value}.');
  if (!(lr > 0)) throw new InvalidArgumentError(fn, 'lr', lr, 'must be a positive number, got {value}. The usual value is 1e-3.');
  if (!(weightDecay >= 0)) throw new InvalidArgumentError(fn, 'weightDecay', weightDecay, 'must be a non-negative number, got {value}.');
  if ((checkpointEvery > 0 || checkpointDir) && (!checkpointDir || !opts.saveModel)) {
    throw new InvalidArgumentError(fn, 'checkpointDir', checkpointDir, 'and saveModel are both needed for checkpoints, got {value}.');
  }
  const { objective = 'ml', sigma, evalEvery = 0 } = opts;
  if (objective === 'ml' && sigma !== undefined) throw new InvalidArgumentError(fn, 'sigma', sigma, "applies to flow matching only (objective 'cfm' or 'ot-cfm'), got {value} with objective 'ml'.");
  const model: Trainable = objective === 'ml' ? trained : flowMatchingObjective(trained, { objective, sigma, seed: opts.seed });
  if (!Number.isInteger(evalEvery) || evalEvery < 0) throw new InvalidArgumentError(fn, 'evalEvery', evalEvery, 'must be an integer ≥ 0, got {value}.');
  if (evalEvery > 0 && !model.nll) throw new InvalidArgumentError(fn, 'evalEvery', evalEvery, 'needs a model with an nll method (a Flow), got {value} for one without.');
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const mode = opts.progress === 'auto' || opts.progress === undefined ? (process.stdout.isTTY ? 'bar' : 'lines') : opts.progress;
  const optimizer = tf.train.adam(lr);
  const vars = model.trainableVariables;
  let iter = 0;
  let history: LogRecord[] = [];
  let seconds = 0;
  if (opts.resumeFrom) {
    const state = await restore(opts.resumeFrom, optimizer);
    iter = state.iter;
    history = state.history;
    seconds = state.seconds;
  }
  const state = () => ({ iter, history, seconds });
  let windowStart = performance.now();
  let windowIters = 0;
  try {
    while (iter < iters) {
      const x = tf.tensor2d(data.batch(iter, batch), [batch, data.dim]);
      if (iter === 0) model.initialize?.(x);
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => model.loss(x), vars);
      optimizer.applyGradients(grads as tf.NamedTensorMap as never);
      if (weightDecay > 0) tf.tidy(() => vars.forEach((v) => v.assign(tf.mul(v, 1 - lr * weightDecay))));
      const loss = value.dataSync()[0]!;
      tf.dispose([x, value, ...Object.values(grads)]);
      seconds += (performance.now() - t0) / 1000;
      iter++;
      windowIters++;
      if (!Number.isFinite(loss)) throw new BiflowError(`train: the loss became ${loss} at iteration ${iter}. Lower the learning rate (lr ${lr}) or check the data for extreme values.`);
      const evaluate = evalEvery > 0 && iter % evalEvery === 0;
      if (iter % logEvery === 0 || iter === iters || evaluate) {
        const rec: LogRecord = { iter, loss, secondsPerIter: (performance.now() - windowStart) / 1000 / windowIters, ...(model.stats?.() ?? {}) };
        if (evaluate) rec.testNll = model.nll!(data.test);
        history.push(rec);
        windowStart = performance.now();
        windowIters = 0;
        if (mode === 'bar') write(`\r${bar(iter, iters, rec)}${iter === iters ? '\n' : ''}`);
        else if (mode === 'lines') {
          const extra = Object.entries(rec).filter(([k]) => !['iter', 'loss', 'secondsPerIter'].includes(k)).map(([k, v]) => ` ${k} ${v}`).join('');
          write(`iter ${iter}/${iters} loss ${rec.loss.toFixed(4)} ${rec.secondsPerIter.toFixed(4)} s/it${extra}\n`);
        }
      }
      if (checkpointDir && checkpointEvery > 0 && iter % checkpointEvery === 0 && iter < iters) {
        await checkpoint(checkpointDir, opts, optimizer, state(), writeFolder);
      }
    }
    if (checkpointDir) await checkpoint(checkpointDir, opts, optimizer, state(), writeFolder);
  } finally {
    optimizer.dispose();
  }
  return { history, iters: iter, seconds };
}
