/**
 * The Node entry's `train`: {@link withObjective}'s choice of objective over the Node loop, whose
 * checkpoints are run folders on disk (locked, atomic, replacing only a run biflow wrote).
 */
import type { Dataset } from '../data/dataset.js';
import type { Checkpointer } from '../train/checkpointer.js';
import { train as nodeLoop } from '../train/node.js';
import type { FolderWriter } from '../train/node.js';
import type { Trainable, TrainResult } from '../train/train.js';
import { withObjective } from './train-flow.js';
import type { FlowTrainOptions } from './train-flow.js';

/**
 * Trains `model` on `data` for `iters` iterations (in total, counting a resumed run's earlier
 * ones) by the chosen objective, with checkpoints in run folders (default: the file system).
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, loadFlow, saveFlow, train } from 'biflow';
 * const data = loadDataset('8gaussians');
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * await train(flow, data, { iters: 2000, checkpointEvery: 100, checkpointDir: 'runs/a', saveModel: (d) => saveFlow(flow, d) });
 * const back = await loadFlow('runs/a');        // later, or in another process:
 * await train(back, data, { iters: 4000, resumeFrom: 'runs/a', checkpointDir: 'runs/a', saveModel: (d) => saveFlow(back, d) });
 * const fm = createFlow({ type: 'ffjord', dim: 2 });
 * await train(fm, data, { iters: 2000, batch: 256, objective: 'cfm', validation: data.test, evalEvery: 500 });
 * ```
 */
export async function train(model: Trainable, data: Dataset, opts: FlowTrainOptions, checkpointer?: Checkpointer | FolderWriter): Promise<TrainResult> {
  const w = withObjective(model, opts);
  return nodeLoop(w.model, data, w.opts, checkpointer);
}
