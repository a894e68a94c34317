/**
 * Training a flow's one-pass generator with the shared training loop (Node: the loop can write
 * checkpoints). See align.ts for the loss.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { Flow } from '../flows/flow.js';
import { train } from '../train/train.js';
import type { TrainOptions, TrainResult } from '../train/train.js';
import { AlignmentObjective } from './align.js';
import type { AlignmentOptions } from './align.js';
import { countStates, Generator } from './generator.js';
import type { GeneratorOptions } from './generator.js';

/** Options of {@link trainGenerator}: the generator's, the alignment loss's and the training loop's. */
export type GeneratorTrainOptions = GeneratorOptions & AlignmentOptions & Omit<TrainOptions, 'checkpointDir' | 'checkpointEvery' | 'saveModel' | 'resumeFrom'>;

/**
 * Trains a generator for `flow` (a new one, or the one already attached) by hidden alignment and
 * attaches it, so that `flow.sample(n, { via: 'generator' })` uses it.
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, trainGenerator } from 'biflow';
 *
 * const data = loadDataset('8gaussians', { seed: 0 });
 * const flow = createFlow({ type: 'realnvp', dim: 2 });   // train it first (see train); any flow works
 * const { result } = await trainGenerator(flow, data, { iters: 50, batch: 100 });
 * result.iters;
 * flow.sample(500, { via: 'generator' });               // one pass, no inverse
 * ```
 */
export async function trainGenerator(flow: Flow, data: Dataset, options: GeneratorTrainOptions): Promise<{ generator: Generator; result: TrainResult }> {
  for (const key of ['checkpointDir', 'resumeFrom'] as const) {
    const value = (options as Partial<TrainOptions>)[key];
    if (value !== undefined) throw new InvalidArgumentError('trainGenerator', key, value, 'is not supported for generator training, got {value}; save the flow afterwards with saveFlow.');
  }
  const { interior = 3, hidden, activation, seed = 0, schedule, freezeFlow, alignWeight, reconstructionWeight, ...trainOptions } = options;
  let generator = flow.generator instanceof Generator && flow.generator.interior === interior && flow.generator.contextDim === flow.contextDim ? flow.generator : null;
  if (!generator) {
    generator = new Generator(flow.dim, countStates(flow.bijector, interior), { interior, hidden, activation, seed, contextDim: flow.contextDim });
    flow.generator?.dispose();
    flow.generator = generator;
  }
  const objective = new AlignmentObjective(flow, generator, { schedule, freezeFlow, alignWeight, reconstructionWeight });
  try {
    // The loop without a checkpointer: generator training keeps no run folder.
    const result = await train(objective, data, trainOptions);
    return { generator, result };
  } finally {
    objective.dispose();
  }
}
