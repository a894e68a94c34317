/**
 * The learned one-pass inverse (the BiFlow idea): keep the exact-likelihood flow F (data →
 * latent) and train a separate generator G (latent → data, not necessarily invertible) that
 * samples in one pass. G is a chain of residual MLP segments, one per state of F's forward path —
 * every block boundary and, inside CNF blocks, `interior` ODE times — and is trained by hidden
 * alignment: each segment's output is matched to F's state at that point, the last one to the data
 * (the reconstruction ‖G(F(x)) − x‖²).
 *
 * References: Lu, Sun, Wang, Jiang, Zhao, He, "Bidirectional Normalizing Flow: From Data to Noise
 * and Back", arXiv:2512.10953 (2025).
 *
 * @example
 * const flow = createFlow({ type: 'biflow', dim: 2 });
 * await train(flow, data, { iters: 2000 });
 * await trainGenerator(flow, data, { iters: 2000, interior: 3 });
 * const fast = flow.sample(10_000, { via: 'generator' });
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector } from '../flows/bijector.js';
import { leafBlocks } from '../flows/compose.js';
import type { OnePassSampler } from '../flows/flow.js';
import { CNF } from '../ffjord/cnf.js';
import { MLP } from '../nn/mlp.js';
import type { ActivationName } from '../nn/activations.js';

/** Options of a {@link Generator}. */
export interface GeneratorOptions {
  /** Interior ODE times per CNF block whose states G is aligned to (default 3). */
  interior?: number;
  /** Hidden sizes of each segment's MLP (default [128, 128]). */
  hidden?: number[];
  activation?: ActivationName | 'relu';
  seed?: number;
  /** A conditional flow's context width: every segment then reads [u, c] (default 0). */
  contextDim?: number;
}

/**
 * F's states along its forward path from x: after each block and, inside CNF blocks, at
 * `interior` interior times — `[h₁, …, h_M]`, h_M = F(x). Differentiable; the caller owns them.
 *
 * @example
 * ```ts
 * import { tf, createFlow, forwardStates, countStates } from 'biflow';
 *
 * const flow = createFlow({ type: 'realnvp', dim: 2, layers: 2 });
 * const states = forwardStates(flow.bijector, tf.randomNormal([4, 2]) as tf.Tensor2D, 0);
 * states.length === countStates(flow.bijector, 0); // true; the last state is the latent z = F(x)
 * ```
 */
export function forwardStates(b: Bijector, x: tf.Tensor2D, interior: number, context?: tf.Tensor2D): tf.Tensor2D[] {
  const out: tf.Tensor2D[] = [];
  let h = x;
  for (const block of leafBlocks(b)) {
    if (block instanceof CNF) out.push(...block.path(h, interior));
    else {
      const { y, logDet } = block.forward(h, { context });
      logDet.dispose();
      out.push(y);
    }
    h = out[out.length - 1]!;
  }
  return out;
}

/**
 * How many states `forwardStates` returns for this bijector.
 *
 * @example
 * ```ts
 * import { createFlow, countStates } from 'biflow';
 *
 * // one state per block, plus `interior` more inside each CNF block
 * countStates(createFlow({ type: 'realnvp', dim: 2, layers: 2 }).bijector, 3);
 * ```
 */
export function countStates(b: Bijector, interior: number): number {
  return leafBlocks(b).reduce((n, block) => n + (block instanceof CNF ? interior + 1 : 1), 0);
}

/** G: latent → data in one pass, a chain of residual MLP segments u ← u + MLPⱼ(u). */
export class Generator implements OnePassSampler {
  /** segments[j] maps (an estimate of) state j + 1 to state j; state 0 is the data. */
  readonly segments: MLP[];
  readonly interior: number;
  private readonly hidden: number[];
  private readonly activation: ActivationName | 'relu';
  private readonly seed: number;
  readonly contextDim: number;

  constructor(
    readonly dim: number,
    /** Number of segments: F's state count M (see `countStates`). */
    readonly count: number,
    { interior = 3, hidden = [128, 128], activation = 'swish', seed = 0, contextDim = 0 }: GeneratorOptions = {},
  ) {
    const fn = 'Generator';
    if (!Number.isInteger(dim) || dim < 1) throw new InvalidArgumentError(fn, 'dim', dim, 'must be a positive integer, got {value}.');
    if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(fn, 'count', count, "must be a positive integer (F's number of states, countStates(flow.bijector, interior)), got {value}.");
    if (!Number.isInteger(interior) || interior < 0) throw new InvalidArgumentError(fn, 'interior', interior, 'must be an integer ≥ 0, got {value}.');
    if (!Number.isSafeInteger(contextDim) || contextDim < 0) throw new InvalidArgumentError(fn, 'contextDim', contextDim, 'must be an integer ≥ 0, got {value}.');
    this.interior = interior;
    this.contextDim = contextDim;
    this.hidden = hidden;
    this.activation = activation;
    this.seed = seed;
    // Zero last layers: G starts as the identity map, like a flow's couplings.
    this.segments = Array.from({ length: count }, (_, j) => new MLP(dim + contextDim, hidden, dim, { activation, seed: seed * 131 + j + 1 }));
  }

  /** The estimates of every state from the latent z: `[ĥ₀ (data), ĥ₁, …, ĥ_{M−1}]` (given the context rows c of a conditional flow, as its blocks see them). */
  chain(z: tf.Tensor2D, context?: tf.Tensor2D): tf.Tensor2D[] {
    return tf.tidy(() => {
      const out: tf.Tensor2D[] = new Array(this.count);
      let u = z;
      for (let j = this.count - 1; j >= 0; j--) {
        u = this.step(j, u, context);
        out[j] = u;
      }
      return out;
    });
  }

  /** Data from latent points in one pass (given the context rows, for a conditional flow). */
  generate(z: tf.Tensor2D, context?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let u = z;
      for (let j = this.count - 1; j >= 0; j--) u = this.step(j, u, context);
      return u;
    });
  }

  /** Segment j: u + MLPⱼ(u), or u + MLPⱼ([u, c]) for a conditional generator. */
  private step(j: number, u: tf.Tensor2D, context?: tf.Tensor2D): tf.Tensor2D {
    if (this.contextDim > 0 && (!context || context.shape[1] !== this.contextDim || context.shape[0] !== u.shape[0])) {
      throw new InvalidArgumentError('Generator', 'context', context?.shape, `must be [${u.shape[0]}, ${this.contextDim}] rows (one per latent row), got {value}.`);
    }
    return tf.add(u, this.segments[j]!.apply(this.contextDim > 0 ? tf.concat([u, context!], 1) : u));
  }

  get trainableVariables(): tf.Variable[] {
    return this.segments.flatMap((s) => s.variables);
  }

  /** The configuration `generatorFromConfig` rebuilds it from. */
  getConfig(): GeneratorConfig {
    return { kind: 'generator', dim: this.dim, count: this.count, interior: this.interior, hidden: this.hidden, activation: this.activation, seed: this.seed, ...(this.contextDim > 0 ? { contextDim: this.contextDim } : {}) };
  }

  /** Releases the segments' variables. */
  dispose(): void {
    this.segments.forEach((s) => s.dispose());
  }
}

/** A generator's saved configuration. */
export interface GeneratorConfig {
  kind: 'generator';
  dim: number;
  count: number;
  interior: number;
  hidden: number[];
  activation: ActivationName | 'relu';
  seed: number;
  [key: string]: unknown;
}

/** Rebuilds a generator from its configuration (weights apart). */
export function generatorFromConfig(c: GeneratorConfig): Generator {
  return new Generator(c.dim, c.count, c);
}
