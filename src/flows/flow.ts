/**
 * A normalizing flow: a bijector (data → latent) and a base distribution on the latent.
 *   log p(x) = log p_base(f(x)) + log|det ∂f/∂x|,   sampling: x = f⁻¹(z), z ~ p_base.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector } from './bijector.js';
import type { Distribution } from './distributions.js';

/**
 * A learned one-pass map latent → data (BiFlow's generator) that can stand in for the exact
 * inverse when sampling; `Flow.sample(n, { via: 'generator' })` uses it.
 */
export interface OnePassSampler {
  readonly dim: number;
  /** Data points from latent points `[N, dim]`, in one pass. */
  generate(z: tf.Tensor2D): tf.Tensor2D;
  readonly trainableVariables: tf.Variable[];
  /** A JSON description from which it can be rebuilt (weights apart). */
  getConfig(): Record<string, unknown>;
  /** Releases the variables. */
  dispose(): void;
}

/** Which sampler `Flow.sample` uses: the exact inverse or the attached one-pass generator. */
export type SampleVia = 'inverse' | 'generator';

/** A normalizing flow: a bijector (data → latent) and a base distribution; exact log-likelihoods and sampling. */
export class Flow {
  /** The learned one-pass sampler attached to this flow, if any (not among `trainableVariables`). */
  generator: OnePassSampler | null = null;

  constructor(
    readonly bijector: Bijector,
    readonly base: Distribution,
    /** The JSON configuration the registry built this flow from (what saveFlow records). */
    readonly config: Record<string, unknown> | null = null,
  ) {
    if (bijector.dim !== base.dim) throw new InvalidArgumentError('Flow', 'base.dim', base.dim, `must equal the bijector's dim ${bijector.dim}, got {value}.`);
  }

  get dim(): number {
    return this.bijector.dim;
  }

  /** Exact log-likelihood of each row of x, in nats, `[N]`. */
  logProb(x: tf.Tensor2D): tf.Tensor1D {
    this.checkInput('Flow.logProb', x);
    return tf.tidy(() => {
      const { y, logDet } = this.bijector.forward(x);
      return tf.add(this.base.logProb(y), logDet) as tf.Tensor1D;
    });
  }

  /**
   * Mean negative log-likelihood in nats of the rows of a row-major [n, dim] array, evaluated in
   * batches of `batch` rows (the test-NLL figure).
   */
  nll(rows: Float32Array, { batch = 1000 }: { batch?: number } = {}): number {
    const d = this.dim;
    const n = rows.length / d;
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Flow.nll', 'rows', rows.length, `must hold a whole number of rows of ${d} values, got {value} values.`);
    let total = 0;
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      total += tf.tidy(() => tf.sum(this.logProb(tf.tensor2d(rows.subarray(s * d, (s + m) * d), [m, d]))).dataSync()[0]!);
    }
    return -total / n;
  }

  /**
   * The density of a 2-D flow at the centres of an n×n grid over [xmin, xmax] × [ymin, ymax]:
   * entry j·n + i is cell (column i along x, row j along y) — the layout of `densityFigure`.
   */
  densityGrid([x0, x1, y0, y1]: readonly [number, number, number, number], n: number): Float32Array {
    if (this.dim !== 2) throw new InvalidArgumentError('Flow.densityGrid', 'flow.dim', this.dim, 'must be 2 for a density grid, got {value}.');
    const grid = new Float32Array(2 * n * n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        grid[2 * (j * n + i)] = x0 + ((i + 0.5) * (x1 - x0)) / n;
        grid[2 * (j * n + i) + 1] = y0 + ((j + 0.5) * (y1 - y0)) / n;
      }
    }
    return tf.tidy(() => tf.exp(this.logProb(tf.tensor2d(grid, [n * n, 2]))).dataSync() as Float32Array);
  }

  /**
   * n samples: by the exact inverse (default), or in one pass by the attached generator
   * (`via: 'generator'`, see `trainGenerator`). The same seed draws the same latent points.
   */
  sample(n: number, { seed, via = 'inverse' }: { seed?: number; via?: SampleVia } = {}): tf.Tensor2D {
    if (via !== 'inverse' && via !== 'generator') throw new InvalidArgumentError('Flow.sample', 'via', via, "must be 'inverse' or 'generator', got {value}.");
    const generator = this.generator;
    if (via === 'generator' && !generator) {
      throw new InvalidArgumentError('Flow.sample', 'via', via, 'needs a generator attached to the flow, got {value} with none. Train one with trainGenerator(flow, data) first.');
    }
    return tf.tidy(() => {
      const z = this.base.sample(n, seed);
      return generator && via === 'generator' ? generator.generate(z) : this.bijector.inverse(z).x;
    });
  }

  /** Samples with their log-density, in one inverse pass. */
  sampleAndLogProb(n: number, { seed }: { seed?: number } = {}): { x: tf.Tensor2D; logProb: tf.Tensor1D } {
    return tf.tidy(() => {
      const z = this.base.sample(n, seed);
      const { x, logDet } = this.bijector.inverse(z);
      return { x, logProb: tf.sub(this.base.logProb(z), logDet) as tf.Tensor1D };
    });
  }

  /** Mean negative log-likelihood of a batch, in nats: the training loss. */
  loss(x: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const nll = tf.neg(tf.mean(this.logProb(x))) as tf.Scalar;
      // Penalties of the forward pass just made (a CNF's RNODE terms), if any.
      const reg = this.bijector.regularization?.() ?? null;
      if (!reg) return nll;
      const total = tf.add(nll, reg) as tf.Scalar;
      reg.dispose();
      return total;
    });
  }

  /** Data-dependent initialisation of the blocks that have one (ActNorm). */
  initialize(x: tf.Tensor2D): void {
    this.bijector.initialize?.(x);
  }

  /** Solver statistics of the blocks that have them (NFE of CNF blocks), for training logs. */
  stats(): Record<string, number> {
    return this.bijector.solverStats?.() ?? {};
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.bijector.trainableVariables, ...this.base.trainableVariables];
  }

  /** Releases the variables of the bijector and the base. */
  dispose(): void {
    this.bijector.dispose();
    this.base.dispose();
    this.generator?.dispose();
    this.generator = null;
  }

  private checkInput(fn: string, x: tf.Tensor): void {
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== this.dim) {
      throw new InvalidArgumentError(fn, 'x', x instanceof tf.Tensor ? x.shape : x, `must be a [N, ${this.dim}] tensor, got {value}.`);
    }
  }
}
