/**
 * A training run's folder: `model/` (written by the caller's saveModel), `optimizer.bin` (Adam's
 * moments, float32) and `train.json` (iteration, log, seconds, Adam's step count, and the list of
 * every file the checkpoint wrote — what makes the folder recognisably biflow's).
 *
 * Reading validates everything and fails with a {@link CheckpointFileError} naming the file;
 * {@link checkRunFolder} applies the save rule (replace only a run biflow wrote, and only when
 * asked) before any training starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend/engine.js';
import { float32Bytes } from '../backend/memory.js';
import { BiflowError } from '../errors.js';
import type { OptimizerState } from './checkpointer.js';
import type { LogRecord } from './progress.js';
import { inspectTarget, listFiles, OutputPathError, someFiles } from './folders.js';

/** A run folder's train.json or optimizer.bin is missing, unreadable or inconsistent. */
export class CheckpointFileError extends BiflowError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
  ) {
    super(`train: ${file}: ${problem}. ${fix}`);
  }
}

/** What train.json holds. */
export interface RunState {
  format: 'biflow-train';
  version: 2;
  iter: number;
  history: LogRecord[];
  seconds: number;
  adam: { step: number; specs: tf.io.WeightsManifestEntry[] };
  /** Every file of the folder but train.json, relative, '/'-separated. */
  files: string[];
}

export const STATE_FILE = 'train.json';
const OPTIMIZER_FILE = 'optimizer.bin';
const MODEL_DIR = 'model';
const REWRITE = 'The checkpoint was cut short or edited; resume from an intact run or start a new one in another folder';

const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

/** What is wrong with a parsed train.json, or null. */
function problemOf(s: Partial<RunState>): string | null {
  if (s?.format !== 'biflow-train') return 'is not a biflow training state (no format "biflow-train")';
  if (s.version !== 2) return `is a version ${JSON.stringify(s.version ?? 1)} training state, which this biflow cannot resume exactly (it reads version 2)`;
  if (!isCount(s.iter)) return `has iter ${JSON.stringify(s.iter)}, not a non-negative integer`;
  if (!(typeof s.seconds === 'number' && s.seconds >= 0)) return `has seconds ${JSON.stringify(s.seconds)}, not a non-negative number`;
  if (!Array.isArray(s.history) || s.history.some((r) => !isCount(r?.iter) || r.iter > s.iter! || typeof r.loss !== 'number')) return 'has a history that is not a list of { iter, loss, … } records up to its iter';
  const specs = s.adam?.specs;
  const validSpecs = Array.isArray(specs) && specs.every((w) => w?.dtype === 'float32' && typeof w.name === 'string' && Array.isArray(w.shape) && w.shape.every(isCount))
    && new Set(specs.map((w) => w.name)).size === specs.length;
  if (!isCount(s.adam?.step) || !validSpecs) return 'has no valid adam record ({ step, specs })';
  if (s.adam.step !== s.iter) return `has adam.step ${s.adam.step} but iter ${s.iter} (one step per iteration)`;
  if (!Array.isArray(s.files) || s.files.some((f) => typeof f !== 'string')) return 'has no list of the files the checkpoint wrote';
  return null;
}

/** Reads and validates `dir`/train.json (not optimizer.bin: {@link restoreOptimizer} does). */
export function readRunState(dir: string): RunState {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CheckpointFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'Resume from a folder written by train\'s checkpoints (biflow train --out)');
  }
  let state: RunState;
  try {
    state = JSON.parse(text) as RunState;
  } catch (e) {
    throw new CheckpointFileError(file, `is not valid JSON (${(e as Error).message})`, REWRITE);
  }
  const problem = problemOf(state);
  if (problem) throw new CheckpointFileError(file, problem, REWRITE);
  return state;
}

/**
 * Applies the save rule to a run's output folder before training: nothing there, an empty folder,
 * or a valid run whose every file its train.json lists — and such a run only when `resume`
 * (continue it) or `overwrite` (replace it) says so. Anything else throws {@link OutputPathError}
 * (or {@link CheckpointFileError} for a damaged run); nothing is touched.
 */
export function checkRunFolder(fn: string, dir: string, { resume = false, overwrite = false }: { resume?: boolean; overwrite?: boolean } = {}): void {
  const target = inspectTarget(dir);
  if (target.kind === 'other') throw new OutputPathError(fn, dir, 'is a file, not a run folder', 'Choose a new path or an empty folder for the run.');
  if (target.kind === 'none') return;
  if (!existsSync(path.join(dir, STATE_FILE))) {
    throw new OutputPathError(fn, dir, `holds files that are not a biflow training run (${someFiles(target.files)})`, 'Choose a new path or an empty folder for the run; biflow replaces only a run folder it wrote.');
  }
  const state = readRunState(dir);
  const foreign = target.files.filter((f) => f !== STATE_FILE && !state.files.includes(f));
  if (foreign.length) {
    throw new OutputPathError(fn, dir, `holds a run but also files biflow did not write (${someFiles(foreign)})`, 'Move them out of the folder, or choose another folder for the run.');
  }
  if (!resume && !overwrite) {
    throw new OutputPathError(fn, dir, `holds a training run (iteration ${state.iter})`, 'Continue it with --resume (train: resumeFrom), replace it with --overwrite ({ overwrite: true }), or choose another folder.');
  }
}

/** Writes a checkpoint into the (temporary) folder `tmp`: model, optimizer moments, train.json. */
export async function writeCheckpoint(
  tmp: string,
  saveModel: (dir: string) => Promise<void>,
  optimizer: OptimizerState,
  progress: Pick<RunState, 'iter' | 'history' | 'seconds'>,
): Promise<void> {
  const { step, moments } = optimizer.state();
  const { data, specs } = await tf.io.encodeWeights(moments.map((tensor, i) => ({ name: `o${i}`, tensor })));
  await saveModel(path.join(tmp, MODEL_DIR));
  await writeFile(path.join(tmp, OPTIMIZER_FILE), new Uint8Array(data));
  const state: RunState = { format: 'biflow-train', version: 2, ...progress, adam: { step, specs }, files: listFiles(tmp) };
  await writeFile(path.join(tmp, STATE_FILE), JSON.stringify(state));
}

/** Restores Adam's state from `dir`/optimizer.bin as `state` describes it. */
export function restoreOptimizer(dir: string, state: RunState, optimizer: OptimizerState): void {
  const file = path.join(dir, OPTIMIZER_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CheckpointFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, REWRITE);
  }
  const specs = state.adam.specs;
  const expected = float32Bytes(specs);
  if (bytes.byteLength !== expected) throw new CheckpointFileError(file, `holds ${bytes.byteLength} bytes where ${STATE_FILE} describes ${expected}`, REWRITE);
  const decoded = tf.io.decodeWeights(new Uint8Array(bytes).buffer as ArrayBuffer, specs);
  const tensors = specs.map((s) => decoded[s.name]!);
  const problem = optimizer.setState(state.adam.step, tensors);
  tf.dispose(Object.values(decoded));
  if (problem) throw new CheckpointFileError(file, `holds ${problem}`, 'Resume it with the model it was trained with (its model/ folder)');
}
