/**
 * Where the trainer keeps checkpoints, as an interface: the training loop (train.ts) runs without
 * a file system, and the Node entry gives it {@link fileCheckpointer} (node.ts: run folders with
 * locks, atomic writes and the save rule). A page can implement one (e.g. on IndexedDB).
 */
import type { tf } from '../backend/engine.js';
import type { LogRecord } from './progress.js';
import type { TrainOptions } from './train.js';

/** What a checkpointer sees of the trainer's optimizer (Adam): its state, to keep and to give back. */
export interface OptimizerState {
  /** The step count and the moments (first every m, then every v; the optimizer's own, not copies). */
  state(): { step: number; moments: tf.Variable[] };
  /** Restores a kept state (the caller keeps `moments`); returns what does not fit, or null when done. */
  setState(step: number, moments: readonly tf.Tensor[]): string | null;
}

/** The progress a checkpoint keeps besides the model and the optimizer. */
export interface RunProgress {
  iter: number;
  history: LogRecord[];
  seconds: number;
}

/** One training run's use of a checkpointer, from before the first iteration to the end. */
export interface CheckpointSession {
  /** The run being continued (`resumeFrom`), or null for a new run. */
  readonly resumed: RunProgress | null;
  /** Gives `optimizer` the continued run's state (called only when `resumed`). */
  restore(optimizer: OptimizerState): void;
  /** Writes a checkpoint of the model (`saveModel`), the optimizer and `progress`; resolves to where it went. Absent without `checkpointDir`. */
  save?(optimizer: OptimizerState, progress: RunProgress): Promise<string>;
  /** The run is over (on every path): release what `open` took. */
  close(): Promise<void>;
}

/** Opens a session for a run with `checkpointDir` and/or `resumeFrom`, refusing (by throwing) before any training starts. */
export interface Checkpointer {
  /** Called once per run, before any work; `fn` names the caller in errors, `opts` are train's options. */
  open(fn: string, opts: TrainOptions): Promise<CheckpointSession>;
}
