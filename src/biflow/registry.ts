/**
 * The model registry: every flow biflow can build, by name, from a JSON configuration — what the
 * CLI, `loadFlow` and the comparison harness use.
 *
 * @example
 * const flow = createFlow({ type: 'realnvp', dim: 2 });            // every other field has a default
 * const nsf = createFlow({ type: 'nsf', dim: 6, layers: 4, bins: 8, bound: 4, hidden: [128, 128] });
 */
import { InvalidArgumentError } from '../errors.js';
import { buildAll, Sequential } from '../flows/compose.js';
import { StandardNormal } from '../flows/distributions.js';
import { Flow } from '../flows/flow.js';
import type { Bijector } from '../flows/bijector.js';
import { AffineStandardizer, Standardize } from '../flows/standardize.js';
import { ActNorm, AdditiveCoupling, AffineCoupling, DiagonalScaling, LULinear, MaskedAutoregressive, SplineCoupling } from '../discrete/index.js';
import { checkActivation } from '../nn/activations.js';
import type { ActivationName } from '../nn/activations.js';
import { checkHidden } from '../nn/odenet.js';
import { CNF } from '../ffjord/cnf.js';
import type { CNFOptions } from '../ffjord/cnf.js';
import { checkBlockCNF, checkBlocks, checkSpline, cnfContext, DEFAULT_BLOCKS, Stack } from './stack.js';
import type { BlockSpec } from './stack.js';

/** Every flow type {@link createFlow} builds. */
export const FLOW_TYPES = ['nice', 'realnvp', 'glow', 'nsf', 'ffjord', 'biflow'] as const;
/** One of {@link FLOW_TYPES}. */
export type FlowType = (typeof FLOW_TYPES)[number];

/** The JSON configuration of a flow: `type` and `dim` are required, every other field has a default. */
export interface FlowConfig {
  type: FlowType;
  dim: number;
  /** Hidden sizes of every conditioner network (default [64, 64]). */
  hidden?: number[];
  /** Number of coupling layers / Glow steps (defaults: nice 4, realnvp 6, glow 4, nsf 4). */
  layers?: number;
  /** Spline bins and bound (nsf; defaults 8 and 4). */
  bins?: number;
  bound?: number;
  activation?: ActivationName | 'relu';
  /** Seed of the initial weights and random permutations (default 0). */
  seed?: number;
  /** ffjord, biflow: the CNF blocks' solver settings (defaults dopri5, 1e-5, 1e-5, backsolve, T = 0.5). */
  cnf?: Omit<CNFOptions, 'dim' | 'hidden' | 'seed' | 'activation'> & { activation?: ActivationName };
  /** biflow: the blocks, data side first (default ActNorm → CNF → LU linear → spline coupling → CNF). */
  blocks?: BlockSpec[];
  /** biflow: hidden sizes of the CNF blocks' nets (default [64, 64, 64]); `hidden` is the couplings'. */
  cnfHidden?: number[];
  /**
   * Width k of the context c of a conditional flow q(x | c) (default 0: unconditional). Every
   * coupling's conditioner reads [x_A, c]; ActNorm, LU and permutations ignore it.
   */
  contextDim?: number;
  /**
   * Conditional flows: z-score x (a first block with its log-det) and the context (an input
   * transform), the statistics fitted from the training data by `flow.initialize` (training's
   * first batch) — sbi's default. Default true when `contextDim` > 0; false turns it off.
   */
  standardize?: boolean;
  /**
   * nsf: what runs between consecutive spline couplings: an LU-decomposed linear layer ('lu', the
   * default) or nothing ('none': the couplings only alternate which half they transform, as zuko's
   * NSF alternates its order). A linear layer mixes the coordinates, so a density with an
   * axis-aligned edge (a posterior cut by a box prior) is no longer axis-aligned for the splines.
   */
  mixing?: 'lu' | 'none';
  /**
   * nsf, realnvp: masked autoregressive transforms (MAF, zuko's NSF and MAF) instead of couplings:
   * each of the `layers` transforms changes every coordinate, coordinate i conditioned on those
   * before it (orders alternately ascending and descending) and on the context; no linear layers
   * between them. Sampling takes `dim` conditioner passes per transform. Default false.
   */
  autoregressive?: boolean;
}

const DEFAULT_LAYERS: Record<string, number> = { nice: 4, realnvp: 6, glow: 4, nsf: 4, ffjord: 1, biflow: 1 };

/** Every key of {@link FlowConfig}; any other is a typo and rejected rather than ignored. */
const CONFIG_KEYS: Record<keyof FlowConfig, true> = { type: true, dim: true, hidden: true, layers: true, bins: true, bound: true, activation: true, seed: true, cnf: true, blocks: true, cnfHidden: true, contextDim: true, standardize: true, mixing: true, autoregressive: true };

/**
 * Every rule on a configuration, checked before anything is built (and so by `loadFlow` on a saved
 * one): the fields' own rules come from where they are used (activations, layer kinds, methods,
 * CNF options, block specs), read here once.
 */
function checkConfig(config: FlowConfig): Required<Omit<FlowConfig, 'blocks' | 'cnfHidden' | 'contextDim' | 'standardize' | 'mixing' | 'autoregressive'>> & Pick<FlowConfig, 'blocks' | 'cnfHidden' | 'contextDim' | 'standardize' | 'mixing' | 'autoregressive'> {
  const fn = 'createFlow';
  if (config == null || typeof config !== 'object') throw new InvalidArgumentError(fn, 'config', config, "must be an object such as { type: 'realnvp', dim: 2 }, got {value}.");
  for (const [k, v] of Object.entries(config)) {
    if (v !== undefined && !Object.prototype.hasOwnProperty.call(CONFIG_KEYS, k)) throw new InvalidArgumentError(fn, k, v, `is not a configuration field (got {value}). Known: ${Object.keys(CONFIG_KEYS).join(', ')}.`);
  }
  const { type, dim } = config;
  if (!FLOW_TYPES.includes(type)) throw new InvalidArgumentError(fn, 'type', type, `is not a flow type, got {value}. Use one of: ${FLOW_TYPES.join(', ')}.`);
  if (!Number.isInteger(dim) || dim < (type === 'ffjord' ? 1 : 2)) throw new InvalidArgumentError(fn, 'dim', dim, `must be an integer ≥ ${type === 'ffjord' ? 1 : 2}, got {value}.`);
  const hidden = config.hidden ?? (type === 'ffjord' ? [64, 64, 64] : [64, 64]);
  checkHidden(fn, hidden);
  const layers = config.layers ?? DEFAULT_LAYERS[type]!;
  if (!Number.isInteger(layers) || layers < 1) throw new InvalidArgumentError(fn, 'layers', layers, 'must be a positive integer, got {value}.');
  const { bins = 8, bound = 4, seed = 0, cnf = {} } = config;
  checkSpline(fn, bins, bound);
  const activation = config.activation ?? (type === 'ffjord' ? 'tanh' : 'relu');
  // ODE nets need a smooth activation (the trace's gradient is a second derivative); couplings take relu too.
  checkActivation(fn, activation, { relu: type !== 'ffjord' });
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(fn, 'seed', seed, 'must be an integer, got {value}.');
  checkBlockCNF(fn, cnf, 'cnf.', type === 'biflow' ? 'use cnfHidden for the CNF blocks\' hidden sizes, and the top-level dim and seed' : 'use the top-level hidden, dim and seed');
  if (type !== 'biflow') {
    for (const k of ['blocks', 'cnfHidden'] as const) if (config[k] !== undefined) throw new InvalidArgumentError(fn, k, config[k], `is a 'biflow' field, got {value} for type '${type}'. Drop it, or use type 'biflow'.`);
  } else {
    if (config.blocks !== undefined) checkBlocks(fn, config.blocks);
    if (config.cnfHidden !== undefined) checkHidden(fn, config.cnfHidden, 'cnfHidden');
  }
  const { contextDim = 0, standardize, mixing, autoregressive } = config;
  if (autoregressive !== undefined && (typeof autoregressive !== 'boolean' || (type !== 'nsf' && type !== 'realnvp'))) throw new InvalidArgumentError(fn, 'autoregressive', autoregressive, `must be true or false (an 'nsf' or 'realnvp' field), got {value} for type '${type}'. Use e.g. { type: 'nsf', autoregressive: true }, or drop it.`);
  if (autoregressive && mixing !== undefined) throw new InvalidArgumentError(fn, 'mixing', mixing, "is a coupling field, got {value} with autoregressive: true (no linear layers run between autoregressive transforms). Drop it.");
  if (mixing !== undefined && (type !== 'nsf' || (mixing !== 'lu' && mixing !== 'none'))) throw new InvalidArgumentError(fn, 'mixing', mixing, `must be 'lu' or 'none' (an 'nsf' field), got {value} for type '${type}'. Use e.g. { type: 'nsf', mixing: 'none' }, or drop it.`);
  if (!Number.isSafeInteger(contextDim) || contextDim < 0) throw new InvalidArgumentError(fn, 'contextDim', contextDim, 'must be an integer ≥ 0 (the width of the context; 0: unconditional), got {value}.');
  if (standardize !== undefined && typeof standardize !== 'boolean') throw new InvalidArgumentError(fn, 'standardize', standardize, 'must be true or false, got {value}.');
  return {
    type, dim, hidden, layers, bins, bound, activation, seed, cnf,
    // Only conditional flows record these, so unconditional configurations stay as they were.
    ...(contextDim > 0 ? { contextDim, standardize: standardize ?? true } : standardize !== undefined ? { standardize } : {}),
    // Recorded only when given, so that saved configurations without it load as they were built.
    ...(mixing !== undefined ? { mixing } : {}),
    ...(autoregressive !== undefined ? { autoregressive } : {}),
    ...(type === 'biflow' ? { blocks: config.blocks ?? [...DEFAULT_BLOCKS], ...(config.cnfHidden ? { cnfHidden: config.cnfHidden } : {}) } : {}),
  };
}

/**
 * Builds a flow from its configuration (`type` and `dim` are required; the rest has defaults).
 *
 * @example
 * ```ts
 * import { tf, createFlow } from 'biflow';
 *
 * const flow = createFlow({ type: 'nsf', dim: 2, seed: 1 });  // 'nice' | 'realnvp' | 'glow' | 'nsf' | 'ffjord' | 'biflow'
 * const x = tf.randomNormal([8, 2]) as tf.Tensor2D;
 * flow.logProb(x);                  // [8] exact log-likelihoods, nats
 * flow.sample(100, { seed: 1 });    // [100, 2]
 * ```
 */
export function createFlow(config: FlowConfig): Flow {
  const c = checkConfig(config);
  const { dim, hidden, layers, activation, seed, contextDim = 0 } = c;
  const z = contextDim > 0 && c.standardize !== false;
  // A conditional flow's standardisations: x's as a first block (its log-det counted), the context's on the Flow.
  const conditional = (blocks: Bijector[]): Flow => {
    const std = z ? new Standardize(dim) : null;
    const bijector = std ? new Sequential([std, ...blocks]) : blocks.length === 1 && blocks[0] instanceof Stack ? blocks[0] : new Sequential(blocks);
    return new Flow(bijector, new StandardNormal(dim), { ...c }, { contextDim, contextStandardizer: z ? new AffineStandardizer(contextDim) : null });
  };
  if (c.type === 'biflow') {
    return conditional([new Stack({ dim, blocks: c.blocks!, hidden: config.hidden, cnfHidden: c.cnfHidden, activation, bins: c.bins, bound: c.bound, cnf: c.cnf, seed, contextDim })]);
  }
  const parity = (i: number): 'even' | 'odd' => (i % 2 === 0 ? 'even' : 'odd');
  const blocks = buildAll((add) => {
    for (let i = 0; i < layers; i++) {
      const s = seed * 1000 + i;
      if (c.autoregressive) {
        const order = i % 2 === 0 ? 'ascending' : 'descending';
        add(new MaskedAutoregressive({ dim, transform: c.type === 'nsf' ? 'spline' : 'affine', order, hidden, activation, bins: c.bins, bound: c.bound, seed: s, contextDim }));
        continue;
      }
      switch (c.type) {
        case 'nice':
          add(new AdditiveCoupling({ dim, parity: parity(i), hidden, activation, seed: s, contextDim }));
          break;
        case 'realnvp':
          add(new AffineCoupling({ dim, parity: parity(i), hidden, activation, seed: s, contextDim }));
          break;
        case 'glow':
          add(new ActNorm(dim));
          add(new LULinear(dim, s));
          add(new AffineCoupling({ dim, parity: parity(i), hidden, activation, seed: s, contextDim }));
          break;
        case 'nsf':
          if (i > 0 && c.mixing !== 'none') add(new LULinear(dim, s));
          add(new SplineCoupling({ dim, parity: parity(i), hidden, bins: c.bins, bound: c.bound, seed: s, contextDim }));
          break;
        case 'ffjord':
          add(new CNF({ activation: activation as ActivationName, ...c.cnf, dim, hidden, seed: s, ...cnfContext(contextDim) }));
          break;
      }
    }
    if (c.type === 'nice') add(new DiagonalScaling(dim));
  });
  return conditional(blocks);
}
