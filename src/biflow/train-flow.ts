/**
 * `train` with a choice of objective, for the entries: the training loop (train/) knows models
 * only as `Trainable`s, and flow matching lives in ffjord/, so the objective is chosen here, in
 * the layer that knows both. `objective: 'ml'` (the default) trains the model's own loss, maximum
 * likelihood for a flow; `'cfm'` / `'ot-cfm'` train the flow's CNF block by flow matching
 * (see ffjord/flow-matching.ts), whose wrapper passes the flow's exact `evaluate` through, so
 * `validation` and early stopping score the same exact NLL either way.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { flowMatchingObjective, OBJECTIVES } from '../ffjord/flow-matching.js';
import type { Objective } from '../ffjord/flow-matching.js';
import type { Checkpointer } from '../train/checkpointer.js';
import { train as trainLoop } from '../train/train.js';
import type { Trainable, TrainOptions, TrainResult } from '../train/train.js';

/** Options of {@link train}: the loop's, plus the objective and its settings. */
export interface FlowTrainOptions extends TrainOptions {
  /** 'ml' (default): the model's own loss. 'cfm' / 'ot-cfm': flow matching of the flow's CNF block. */
  objective?: Objective;
  /** Flow matching: width of the Gaussian path around the straight line (default 0). */
  sigma?: number;
  /** Flow matching: seed of its base samples, times and path noise (default 0). */
  seed?: number;
}

/** The model the loop trains for `opts.objective`, and the loop's own options; typed errors name the option. */
export function withObjective(model: Trainable, opts: FlowTrainOptions): { model: Trainable; opts: TrainOptions } {
  const fn = 'train';
  const { objective = 'ml', sigma, seed, ...rest } = opts ?? ({} as FlowTrainOptions);
  if (!(OBJECTIVES as readonly string[]).includes(objective)) {
    throw new InvalidArgumentError(fn, 'objective', objective, `must be one of ${OBJECTIVES.map((o) => `'${o}'`).join(', ')}, got {value}.`);
  }
  if (objective === 'ml') {
    if (sigma !== undefined) throw new InvalidArgumentError(fn, 'sigma', sigma, "applies to flow matching only (objective 'cfm' or 'ot-cfm'), got {value} with objective 'ml'.");
    return { model, opts: rest };
  }
  return { model: flowMatchingObjective(model, { objective, sigma, seed }), opts: rest };
}

/**
 * Trains `model` on `data` (see the training loop's options) by the chosen objective; the
 * browser entry's `train` (no file system: checkpoints only through a {@link Checkpointer}).
 *
 * @example
 * ```ts
 * import { createFlow, toyData, train } from 'biflow/browser';
 * const data = { name: '8gaussians', dim: 2, batch: (i: number, n: number) => toyData('8gaussians', n, i + 1), test: toyData('8gaussians', 1000, -1) };
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * await train(flow, data, { iters: 2000, batch: 256, objective: 'ot-cfm', validation: data.test, evalEvery: 500 });
 * ```
 */
export async function train(model: Trainable, data: Dataset, opts: FlowTrainOptions, checkpointer?: Checkpointer): Promise<TrainResult> {
  const w = withObjective(model, opts);
  return trainLoop(w.model, data, w.opts, checkpointer);
}
