/**
 * A normalizing flow: a bijector (data → latent) and a base distribution on the latent.
 *   log p(x) = log p_base(f(x)) + log|det ∂f/∂x|,   sampling: x = f⁻¹(z), z ~ p_base.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import { readValues, runDeferred } from '../backend/reads.js';
import { checkFits, memoryLimit } from '../backend/memory.js';
import { checkPassOptions } from './bijector.js';
import type { Bijector, PassOptions, TraceEstimator } from './bijector.js';
import { checkBatch, inBatches, onFiniteRows } from './rows.js';
import { contextRows } from './context.js';
import type { ContextInput } from './context.js';
import type { Distribution } from './distributions.js';
import type { AffineStandardizer } from './standardize.js';

/**
 * A learned one-pass map latent → data (BiFlow's generator) that can stand in for the exact
 * inverse when sampling; `Flow.sample(n, { via: 'generator' })` uses it.
 */
export interface OnePassSampler {
  readonly dim: number;
  /** Data points from latent points `[N, dim]`, in one pass (a conditional flow's: given the context rows). */
  generate(z: tf.Tensor2D, context?: tf.Tensor2D): tf.Tensor2D;
  readonly trainableVariables: tf.Variable[];
  /** A JSON description from which it can be rebuilt (weights apart). */
  getConfig(): Record<string, unknown>;
  /** Releases the variables. */
  dispose(): void;
}

/** Which sampler `Flow.sample` uses: the exact inverse or the attached one-pass generator. */
export type SampleVia = 'inverse' | 'generator';

/**
 * Options of the evaluations (`logProb`, `nll`, `densityGrid`, `sampleAndLogProb`): exact unless
 * `trace: 'hutchinson'` asks for the one-probe estimate, its probe a function of `seed` (default
 * 0); `batch` rows at a time. For the samplers `seed` also seeds the latent draws. A
 * conditional flow needs `context` (see {@link ContextInput}: `[N, contextDim]` rows or one
 * context for all); an unconditional one refuses it.
 */
export interface EvalOptions {
  trace?: TraceEstimator;
  seed?: number;
  batch?: number;
  context?: ContextInput;
}

/** How a flow is conditioned: the context width, and the context's standardisation if it has one. */
export interface Conditioning {
  /** Width k of the context c of q(x | c) (default 0: unconditional). */
  contextDim?: number;
  /** The input transform of the context (sbi's z-scoring), applied before any block sees it. */
  contextStandardizer?: AffineStandardizer | null;
}

/** Options of `Flow.sample`: the seed of the latent draws, the sampler, and the inverse's trace and batch. */
export interface SampleOptions extends EvalOptions {
  via?: SampleVia;
}

/**
 * A normalizing flow: a bijector (data → latent) and a base distribution; exact log-likelihoods
 * and sampling.
 *
 * Exact by default: `logProb`, `nll`, `densityGrid` and `sampleAndLogProb` report the exact
 * log-density (CNF blocks: exact trace), whatever estimator the CNF blocks train with; only
 * `loss` — the training objective — uses each CNF's training estimator. Rows: 0 rows give empty
 * results (`[0]`, `sample(0)` → `[0, dim]`); a row of x with a NaN or ±Inf entry gets
 * log-density NaN, for every flow type, and the other rows are unaffected.
 */
export class Flow {
  /** The learned one-pass sampler attached to this flow, if any (not among `trainableVariables`). */
  generator: OnePassSampler | null = null;

  /** Width of the context of a conditional flow q(x | c); 0 for an unconditional one. */
  readonly contextDim: number;
  /** The context's standardisation (an input transform, no log-det), or null. */
  readonly contextStandardizer: AffineStandardizer | null;

  constructor(
    readonly bijector: Bijector,
    readonly base: Distribution,
    /** The JSON configuration the registry built this flow from (what saveFlow records). */
    readonly config: Record<string, unknown> | null = null,
    conditioning: Conditioning = {},
  ) {
    if (bijector.dim !== base.dim) throw new InvalidArgumentError('Flow', 'base.dim', base.dim, `must equal the bijector's dim ${bijector.dim}, got {value}.`);
    const { contextDim = 0, contextStandardizer = null } = conditioning;
    if (!Number.isSafeInteger(contextDim) || contextDim < 0) throw new InvalidArgumentError('Flow', 'contextDim', contextDim, 'must be an integer ≥ 0, got {value}.');
    if (contextStandardizer && contextStandardizer.dim !== contextDim) throw new InvalidArgumentError('Flow', 'contextStandardizer.dim', contextStandardizer.dim, `must equal contextDim ${contextDim}, got {value}.`);
    this.contextDim = contextDim;
    this.contextStandardizer = contextStandardizer;
  }

  get dim(): number {
    return this.bijector.dim;
  }

  /**
   * Log-likelihood of each row of x, in nats, `[N]` — EXACT unless asked otherwise: CNF blocks
   * take the exact trace whatever estimator trained them. `{ trace: 'hutchinson', seed }` asks
   * for Hutchinson's one-probe estimate, the same for the same seed. Rows are evaluated in
   * batches of `batch` (default `DEFAULT_BATCH`, 8192 rows), so memory stays bounded for any N; the
   * result is differentiable either way. 0 rows give an empty `[0]`; a row with a NaN or ±Inf
   * entry gives NaN and leaves the other rows as they would be without it.
   */
  logProb(x: tf.Tensor2D, options: EvalOptions = {}): tf.Tensor1D {
    const fn = 'Flow.logProb';
    this.checkInput(fn, x);
    const pass = checkPassOptions(fn, options);
    const batch = checkBatch(fn, options.batch);
    const c = this.blockContext(fn, options.context, x.shape[0]);
    try {
      return this.logProbRows(x, c, pass, batch);
    } finally {
      c?.dispose();
    }
  }

  /** logProb of checked rows x given their (standardised) context rows c, in batches. */
  private logProbRows(x: tf.Tensor2D, c: tf.Tensor2D | undefined, pass: Omit<PassOptions, 'context'>, batch: number): tf.Tensor1D {
    const rowsOf = (t: tf.Tensor2D, start: number, size: number) => (size === t.shape[0] ? t : (tf.slice(t, [start, 0], [size, -1]) as tf.Tensor2D));
    const run = (good: tf.Tensor2D, context?: tf.Tensor2D) => tf.tidy(() => {
      const { y, logDet } = this.bijector.forward(good, { trace: pass.trace, seed: pass.seed, context });
      return tf.add(this.base.logProb(y), logDet) as tf.Tensor1D;
    });
    return inBatches(x.shape[0], batch, (start, size) => {
      // x and its context travel as one [size, dim + k] block, so the finite-row filter keeps them aligned.
      const rows = c ? tf.tidy(() => tf.concat([rowsOf(x, start, size), rowsOf(c, start, size)], 1) as tf.Tensor2D) : rowsOf(x, start, size);
      try {
        // One rule for every flow: a non-finite row's log-density is NaN, and the pass never sees
        // it, so neither the other rows' values nor the parameters' gradients are touched by it.
        return onFiniteRows(rows, (good) => [c ? tf.tidy(() => run(tf.slice(good, [0, 0], [-1, this.dim]), tf.slice(good, [0, this.dim], [-1, -1]))) : run(good)]);
      } finally {
        if (rows !== x) rows.dispose();
      }
    })[0];
  }

  /**
   * Mean negative log-likelihood in nats of the rows of a row-major [n, dim] array, evaluated in
   * batches of `batch` rows (default 1000) — the test-NLL figure, exact unless `trace` says
   * otherwise (as {@link logProb}). A non-finite row makes it NaN; 0 rows are an error (no mean).
   */
  nll(rows: Float32Array, options: EvalOptions = {}): number {
    const fn = 'Flow.nll';
    const d = this.dim;
    const n = rows.length / d;
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(fn, 'rows', rows.length, `must hold a whole number of rows of ${d} values, at least one row, got {value} values.`);
    const pass = checkPassOptions(fn, options);
    const batch = checkBatch(fn, options.batch ?? 1000);
    const c = this.blockContext(fn, options.context, n);
    let total = 0;
    try {
      for (let s = 0; s < n; s += batch) {
        const m = Math.min(batch, n - s);
        total += tf.tidy(() => readValues(tf.sum(this.logProbRows(tf.tensor2d(rows.subarray(s * d, (s + m) * d), [m, d]), (c && (tf.slice(c, [s, 0], [m, -1]) as tf.Tensor2D)), pass, batch)), fn)[0]!);
      }
    } finally {
      c?.dispose();
    }
    return -total / n;
  }

  /** The trainer's validation score ({@link Trainable}'s `evaluate`): the exact {@link nll} of the rows (given their context rows, for a conditional flow). */
  evaluate(rows: Float32Array, context?: Float32Array): number {
    return this.nll(rows, context === undefined ? {} : { context });
  }

  /**
   * The density of a 2-D flow at the centres of an n×n grid over [xmin, xmax] × [ymin, ymax]:
   * entry j·n + i is cell (column i along x, row j along y) — the layout of `densityFigure`.
   * Exact unless `trace` says otherwise; evaluated in batches of grid cells.
   */
  densityGrid([x0, x1, y0, y1]: readonly [number, number, number, number], n: number, options: EvalOptions = {}): Float32Array {
    const fn = 'Flow.densityGrid';
    if (this.dim !== 2) throw new InvalidArgumentError(fn, 'flow.dim', this.dim, 'must be 2 for a density grid, got {value}.');
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(fn, 'n', n, 'must be a positive integer (cells per side), got {value}.');
    if (![x0, x1, y0, y1].every(Number.isFinite) || !(x1 > x0 && y1 > y0)) throw new InvalidArgumentError(fn, 'extent', [x0, x1, y0, y1], 'must be finite [xmin, xmax, ymin, ymax] with xmin < xmax and ymin < ymax, got {value}.');
    checkFits(fn, 'n', n, { bytes: 4 * n * n, what: `${n}² densities as float32`, fix: 'Use a coarser grid, or several densityGrid calls over parts of the extent.' });
    const pass = checkPassOptions(fn, options);
    const batch = checkBatch(fn, options.batch);
    const out = new Float32Array(n * n);
    for (let s = 0; s < n * n; s += batch) {
      const m = Math.min(batch, n * n - s);
      const cells = new Float32Array(2 * m);
      for (let c = 0; c < m; c++) {
        const i = (s + c) % n;
        const j = Math.floor((s + c) / n);
        cells[2 * c] = x0 + ((i + 0.5) * (x1 - x0)) / n;
        cells[2 * c + 1] = y0 + ((j + 0.5) * (y1 - y0)) / n;
      }
      out.set(readValues(tf.tidy(() => tf.exp(this.logProb(tf.tensor2d(cells, [m, 2]), { ...pass, batch }))), fn), s);
    }
    return out;
  }

  /**
   * n samples, `[n, dim]` (n = 0: an empty `[0, dim]`): by the exact inverse (default), or in
   * one pass by the attached generator (`via: 'generator'`, see `trainGenerator`). The same seed
   * draws the same latent points. The inverse runs in batches of `batch` rows; a request whose
   * samples cannot fit the backend's memory is refused up front. The log-det of the inverse is
   * discarded here, so a CNF block's inverse takes Hutchinson's one-probe trace (seeded by `seed`)
   * unless `trace` says otherwise: the exact trace costs one tangent per dimension, and the trace
   * moves the samples only within the solver's tolerance (through the step sizes).
   */
  sample(n: number, options: SampleOptions = {}): tf.Tensor2D {
    const { via = 'inverse' } = options;
    if (via !== 'inverse' && via !== 'generator') throw new InvalidArgumentError('Flow.sample', 'via', via, "must be 'inverse' or 'generator', got {value}.");
    const generator = this.generator;
    if (via === 'generator' && !generator) {
      throw new InvalidArgumentError('Flow.sample', 'via', via, 'needs a generator attached to the flow, got {value} with none. Train one with trainGenerator(flow, data) first.');
    }
    return this.draw('Flow.sample', n, { ...options, trace: options.trace ?? 'hutchinson' }, (z, pass) => [generator && via === 'generator' ? generator.generate(z, pass.context) : this.bijector.inverse(z, pass).x])[0];
  }

  /** Samples with their log-density (exact unless `trace` says otherwise), in one inverse pass. */
  sampleAndLogProb(n: number, options: EvalOptions = {}): { x: tf.Tensor2D; logProb: tf.Tensor1D } {
    const [x, logProb] = this.draw('Flow.sampleAndLogProb', n, options, (z, pass) => {
      const { x, logDet } = this.bijector.inverse(z, pass);
      return [x, tf.sub(this.base.logProb(z), logDet) as tf.Tensor1D];
    });
    return { x, logProb };
  }

  /**
   * Mean negative log-likelihood of a batch, in nats: the TRAINING loss. CNF blocks use the
   * estimator they were configured to train with (a fresh Hutchinson probe per step), and their
   * RNODE penalties are added. A non-finite row makes it NaN.
   */
  loss(x: tf.Tensor2D, context?: ContextInput): tf.Scalar {
    this.checkInput('Flow.loss', x);
    const c = this.blockContext('Flow.loss', context, x.shape[0]);
    try {
      return tf.tidy(() => {
        const { y, logDet } = this.bijector.forward(x, { training: true, context: c });
        const nll = tf.neg(tf.mean(tf.add(this.base.logProb(y), logDet))) as tf.Scalar;
        // Penalties of the forward pass just made (a CNF's RNODE terms), if any.
        const reg = this.bijector.regularization?.() ?? null;
        if (!reg) return nll;
        const total = tf.add(nll, reg) as tf.Scalar;
        reg.dispose();
        return total;
      });
    } finally {
      c?.dispose();
    }
  }

  /**
   * {@link logProb} on any backend, WebGPU included: the same computation, its device reads
   * (adaptive steps, finite-row flags) awaited instead of read synchronously (see `runDeferred`).
   */
  logProbAsync(x: tf.Tensor2D, options: EvalOptions = {}): Promise<tf.Tensor1D> {
    return runDeferred(() => this.logProb(x, options));
  }

  /** {@link nll} on any backend, WebGPU included (awaiting its device reads). */
  nllAsync(rows: Float32Array, options: EvalOptions = {}): Promise<number> {
    return runDeferred(() => this.nll(rows, options));
  }

  /** {@link sample} on any backend, WebGPU included (awaiting its device reads). */
  sampleAsync(n: number, options: SampleOptions = {}): Promise<tf.Tensor2D> {
    return runDeferred(() => this.sample(n, options));
  }

  /** {@link sampleAndLogProb} on any backend, WebGPU included (awaiting its device reads). */
  sampleAndLogProbAsync(n: number, options: EvalOptions = {}): Promise<{ x: tf.Tensor2D; logProb: tf.Tensor1D }> {
    return runDeferred(() => this.sampleAndLogProb(n, options));
  }

  /** {@link densityGrid} on any backend, WebGPU included (awaiting its device reads). */
  densityGridAsync(extent: readonly [number, number, number, number], n: number, options: EvalOptions = {}): Promise<Float32Array> {
    return runDeferred(() => this.densityGrid(extent, n, options));
  }

  /**
   * The training loss and its gradients with respect to `vars` on any backend: `tf.variableGrads`
   * of {@link loss}, its solves and their adjoint (backsolve) passes awaited (see `runDeferred`).
   */
  lossAndGradsAsync(x: tf.Tensor2D, vars: tf.Variable[] = this.trainableVariables, context?: ContextInput): Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> {
    return runDeferred(() => tf.variableGrads(() => this.loss(x, context), vars));
  }

  /** The trainer's validation score on any backend: {@link nllAsync} of the rows. */
  evaluateAsync(rows: Float32Array, context?: Float32Array): Promise<number> {
    return runDeferred(() => this.evaluate(rows, context));
  }

  /**
   * Data-dependent initialisation, once: the context's standardisation is fitted to `context`,
   * then the blocks that have one (ActNorm, the data's standardisation) to x. Training runs it on
   * its first batch; call it first with all the training rows to fit the statistics to them.
   */
  initialize(x: tf.Tensor2D, context?: ContextInput): void {
    this.checkInput('Flow.initialize', x);
    const c = this.initialContext('Flow.initialize', context, x.shape[0]);
    try {
      this.bijector.initialize?.(x, { context: c });
    } finally {
      c?.dispose();
    }
  }

  /**
   * {@link blockContext} of a first batch, the context's standardisation fitted to it first (once):
   * what {@link initialize} hands the blocks, and what a training model of its own (flow
   * matching) initialises the blocks it trains with. A new tensor the caller disposes.
   */
  initialContext(fn: string, context: unknown, n: number): tf.Tensor2D | undefined {
    if (this.contextStandardizer && !this.contextStandardizer.fitted) {
      const raw = contextRows(fn, context, this.contextDim, n);
      try {
        if (raw) this.contextStandardizer.fit(raw);
      } finally {
        raw?.dispose();
      }
    }
    return this.blockContext(fn, context, n);
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
    this.contextStandardizer?.dispose();
    this.generator?.dispose();
    this.generator = null;
  }

  /** Latent draws z ~ base (seeded), pushed through `pass` in batches, the outputs concatenated. */
  private draw<T extends tf.Tensor[]>(fn: string, n: number, options: EvalOptions & { seed?: number }, pass: (z: tf.Tensor2D, o: PassOptions) => T): T {
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(fn, 'n', n, 'must be a non-negative integer, got {value}.');
    const o = checkPassOptions(fn, options);
    const batch = checkBatch(fn, options.batch);
    // Alive at once: the latent draws, the batches' samples, and their concatenation.
    const row = 4 * this.dim;
    const limit = memoryLimit();
    const fit = Math.floor(Math.min(limit.tensorBytes / row, (limit.totalBytes - tf.memory().numBytes) / (3 * row)));
    checkFits(fn, 'n', n, { bytes: 3 * row * n, largest: row * n, what: `${n} × ${this.dim} float32 latent draws, samples and their concatenation`, fix: `About ${fit} fit at once here: draw in calls of at most that many, each with its own seed, and read each out before the next.` });
    const c = this.blockContext(fn, options.context, n);
    const z = this.base.sample(n, o.seed);
    let out: T;
    try {
      out = inBatches(n, batch, (start, size) =>
        tf.tidy(() => pass(size === n ? z : (tf.slice(z, [start, 0], [size, this.dim]) as tf.Tensor2D), { trace: o.trace, seed: o.seed, context: c && (size === n ? c : (tf.slice(c, [start, 0], [size, -1]) as tf.Tensor2D)) })),
      );
    } catch (e) {
      z.dispose();
      throw e;
    } finally {
      c?.dispose();
    }
    // A pass may hand z back itself (an identity block); it is then the caller's.
    if (!out.includes(z)) z.dispose();
    return out;
  }

  /**
   * The context rows the blocks see for `n` input rows: checked, broadcast and standardised (a
   * new tensor the caller disposes), or undefined for an unconditional flow — what a one-pass
   * generator trained against this flow reads too.
   */
  blockContext(fn: string, context: unknown, n: number): tf.Tensor2D | undefined {
    const raw = contextRows(fn, context, this.contextDim, n);
    if (!raw || !this.contextStandardizer) return raw;
    try {
      return this.contextStandardizer.apply(raw);
    } finally {
      raw.dispose();
    }
  }

  private checkInput(fn: string, x: tf.Tensor): void {
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== this.dim) {
      throw new InvalidArgumentError(fn, 'x', x instanceof tf.Tensor ? x.shape : x, `must be a [N, ${this.dim}] tensor, got {value}.`);
    }
  }
}
