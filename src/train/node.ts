/**
 * The trainer in Node: the training loop (train.ts) with checkpoints in run folders on disk. The
 * folder is locked while the run lasts and is written only if it is new, empty, or a run biflow
 * wrote (see checkpoint.ts); each checkpoint replaces the previous one atomically.
 */
import path from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { checkRunFolder, readRunState, restoreOptimizer, writeCheckpoint } from './checkpoint.js';
import type { Checkpointer } from './checkpointer.js';
import { writeFolderAtomically } from './folders.js';
import { lockFolder } from './lock.js';
import { train as trainLoop } from './train.js';
import type { Trainable, TrainOptions, TrainResult } from './train.js';

/** Writes a folder atomically; `mayReplace` throws to refuse what is there (see writeFolderAtomically). */
export type FolderWriter = typeof writeFolderAtomically;

/**
 * Checkpoints in run folders, written with `writeFolder` (default: writeFolderAtomically): what
 * the Node entry's `train` uses unless given another {@link Checkpointer}.
 *
 * @example
 * ```ts
 * import { createFlow, fileCheckpointer, loadDataset, saveFlow, train } from 'biflow';
 * const flow = createFlow({ type: 'nice', dim: 2 });
 * await train(flow, loadDataset('moons'), { iters: 200, checkpointEvery: 50, checkpointDir: 'runs/nice', saveModel: (d) => saveFlow(flow, d) }, fileCheckpointer());
 * ```
 */
export function fileCheckpointer(writeFolder: FolderWriter = writeFolderAtomically): Checkpointer {
  return {
    async open(fn, { checkpointDir, resumeFrom, overwrite = false, saveModel }) {
      const release = checkpointDir ? await lockFolder(fn, checkpointDir) : null;
      try {
        // Under the lock, before any work: the output must be ours to write, the resumed run intact.
        const continuing = !!resumeFrom && !!checkpointDir && path.resolve(resumeFrom) === path.resolve(checkpointDir);
        if (checkpointDir) checkRunFolder(fn, checkpointDir, { resume: continuing, overwrite });
        const saved = resumeFrom ? readRunState(resumeFrom) : null;
        return {
          resumed: saved,
          restore: (optimizer) => restoreOptimizer(resumeFrom!, saved!, optimizer),
          ...(checkpointDir ? {
            save: async (optimizer, progress) => {
              await writeFolder(checkpointDir, (tmp) => writeCheckpoint(tmp, saveModel!, optimizer, progress), (t) => checkRunFolder(fn, t, { overwrite: true }));
              return checkpointDir;
            },
          } : {}),
          close: async () => release?.(),
        };
      } catch (e) {
        await release?.();
        throw e;
      }
    },
  };
}

/**
 * Trains `model` on `data` for `iters` iterations (in total, counting a resumed run's earlier
 * ones), with checkpoints in run folders on disk. The 4th argument is the checkpointer (default:
 * {@link fileCheckpointer}), or the folder writer it uses. See the loop's options and callbacks in
 * {@link TrainOptions}.
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, loadFlow, saveFlow, train } from 'biflow';
 * const data = loadDataset('8gaussians');
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * await train(flow, data, { iters: 2000, checkpointEvery: 100, checkpointDir: 'runs/a', saveModel: (d) => saveFlow(flow, d) });
 * const back = await loadFlow('runs/a');        // later, or in another process:
 * await train(back, data, { iters: 4000, resumeFrom: 'runs/a', checkpointDir: 'runs/a', saveModel: (d) => saveFlow(back, d) });
 * ```
 */
export function train(model: Trainable, data: Dataset, opts: TrainOptions, checkpointer: Checkpointer | FolderWriter = fileCheckpointer()): Promise<TrainResult> {
  return trainLoop(model, data, opts, typeof checkpointer === 'function' ? fileCheckpointer(checkpointer) : checkpointer);
}
