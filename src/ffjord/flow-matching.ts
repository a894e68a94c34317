/**
 * Flow matching for CNF blocks: train the vector field by regression onto a known conditional
 * velocity at a random time — one net evaluation per sample, no ODE solve — and keep the CNF as it
 * is, so the trained flow's likelihood is still the exact one of its ODE.
 *
 * Time and direction are the CNF's own: it integrates data (t = 0) to latent (t = T). A pair
 * (x₀, x₁) of a data point and a base sample is joined by the straight path
 *   x(τ) = (1 − τ)·x₀ + τ·x₁ + σ·ε,  τ = t/T ∈ [0, 1],  ε ~ N(0, I),
 * whose velocity in the CNF's time is u = (x₁ − x₀)/T. The loss is E‖f(t, x(t/T)) − u‖² (a mean
 * over the batch of the squared norm), minimised by the marginal field whose flow carries the
 * data distribution at t = 0 to the base at t = T (Lipman et al.; Tong et al.'s I-CFM with σ).
 * The end time stays fixed: √T is not among the trained variables, since a rescaled T only
 * rescales the regression target.
 * - `'cfm'`: x₀ and x₁ drawn independently.
 * - `'ot-cfm'`: per batch, x₁ reordered by the exact assignment minimising Σ‖x₀ᵢ − x₁ᵢ‖² (the
 *   minibatch optimal-transport plan between equal-weight samples is a permutation; see ot.ts).
 *
 * Which flows: exactly one CNF block among the flow's blocks (an `ffjord` flow, or a `biflow`
 * stack with one `cnf` block). The other blocks are held fixed — a preprocessing of the data
 * (blocks before the CNF: x₀ = their forward map of the data) and of the base (blocks after it:
 * x₁ = their inverse map of a base sample) — and are not trained; data-dependent initialisation
 * (ActNorm) of the blocks before the CNF still runs on the first batch. The whole flow's
 * log-likelihood stays exact. Flows without a CNF block, and stacks with several, are refused.
 *
 * A conditional flow q(x | c) trains the same way on batches of (x, c): the context, standardised
 * as for the flow's own loss, goes to every block (the fixed ones too) and to the field, f(t, x | c);
 * the OT pairing reorders the base samples only, so each data row keeps its context.
 *
 * References: Lipman et al., "Flow Matching for Generative Modeling", arXiv:2210.02747;
 * Tong et al., "Improving and generalizing flow-based generative models with minibatch optimal
 * transport", arXiv:2302.00482.
 *
 * @example
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * await train(flow, loadDataset('8gaussians'), { iters: 1000, batch: 256, objective: 'ot-cfm' });
 * flow.logProb(x);   // exact, as for a flow trained by maximum likelihood
 */
import { tf } from '../backend/engine.js';
import { readValues, stableDraw } from '../backend/reads.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector } from '../flows/bijector.js';
import { leafBlocks } from '../flows/compose.js';
import { Flow } from '../flows/flow.js';
import { CNF } from './cnf.js';
import { AssignmentSolver, squaredDistanceAssignment } from './ot.js';

/** The training objectives: maximum likelihood, and flow matching with independent or optimal-transport coupling. */
export const OBJECTIVES = ['ml', 'cfm', 'ot-cfm'] as const;
/** One of {@link OBJECTIVES}. */
export type Objective = (typeof OBJECTIVES)[number];

/** Options of {@link flowMatchingObjective}. */
export interface FlowMatchingOptions {
  objective: Exclude<Objective, 'ml'>;
  /** Standard deviation of the Gaussian path around the straight line (default 0). */
  sigma?: number;
  /** Seed of the base samples, times and path noise (default 0). */
  seed?: number;
  /** The loss as one op with a closed-form gradient (default true), or taped (the reference). */
  fused?: boolean;
}

/** The regression problem of a batch: CNF times t [B, 1], path points x [B, D] and target velocities u [B, D]. */
export interface FlowMatchingBatch {
  t: tf.Tensor2D;
  x: tf.Tensor2D;
  u: tf.Tensor2D;
}

/**
 * The points and targets of pairs (x₀, x₁) at path times τ [B, 1] (noise ε [B, D] where σ > 0):
 * t = τT, x = (1 − τ)x₀ + τx₁ + σε, u = (x₁ − x₀)/T. The loss of a field f is then the batch mean
 * of ‖f(t, x) − u‖² (ODENet.flowMatchingLoss).
 *
 * @example
 * ```ts
 * import { flowMatchingBatch, tf } from 'biflow';
 * const x0 = tf.tensor2d([[1, 2]]), x1 = tf.tensor2d([[0, 0]]), tau = tf.tensor2d([[0.25]]);
 * const { t, x, u } = flowMatchingBatch(x0, x1, tau, 0.5);   // t = 0.125, x = [0.75, 1.5], u = [−2, −4]
 * ```
 */
export function flowMatchingBatch(x0: tf.Tensor2D, x1: tf.Tensor2D, tau: tf.Tensor2D, T: number, sigma = 0, eps: tf.Tensor2D | null = null): FlowMatchingBatch {
  return tf.tidy(() => {
    let x = tf.add(x0, tf.mul(tau, tf.sub(x1, x0))) as tf.Tensor2D;
    if (sigma > 0 && eps) x = tf.add(x, tf.mul(sigma, eps)) as tf.Tensor2D;
    return { t: tf.mul(tau, T) as tf.Tensor2D, x, u: tf.div(tf.sub(x1, x0), T) as tf.Tensor2D };
  });
}

/** Validates flow-matching options and flow; returns the index of the CNF block among the leaf blocks. */
function checkFlowMatching(flow: unknown, options: FlowMatchingOptions): number {
  const fn = 'train';
  const { objective, sigma = 0 } = options;
  if (!(OBJECTIVES as readonly string[]).includes(objective) || (objective as string) === 'ml') {
    throw new InvalidArgumentError(fn, 'objective', objective, `must be one of ${OBJECTIVES.map((o) => `'${o}'`).join(', ')}, got {value}.`);
  }
  if (!(typeof sigma === 'number' && sigma >= 0 && Number.isFinite(sigma))) throw new InvalidArgumentError(fn, 'sigma', sigma, 'must be a finite number ≥ 0, got {value}. The usual value is 0 (I-CFM uses small values such as 0.1).');
  if (!(flow instanceof Flow)) throw new InvalidArgumentError(fn, 'objective', objective, "trains the CNF block of a Flow, and this model is not one. Use objective 'ml'.");
  const cnfs = leafBlocks(flow.bijector).flatMap((b, i) => (b instanceof CNF ? [i] : []));
  const type = flow.config?.type ?? 'flow';
  if (cnfs.length === 0) throw new InvalidArgumentError(fn, 'objective', objective, `needs a flow with a CNF block (ffjord, or biflow with one 'cnf' block); this '${type}' flow has none. Use objective 'ml'.`);
  if (cnfs.length > 1) {
    throw new InvalidArgumentError(fn, 'objective', objective, `trains exactly one CNF block, with the other blocks fixed; this '${type}' flow has ${cnfs.length} (blocks ${cnfs.join(', ')}). Use a stack with one 'cnf' block, or objective 'ml'.`);
  }
  return cnfs[0]!;
}

/** The training model of flow matching: what `train` runs when `objective` is 'cfm' or 'ot-cfm'. */
export class FlowMatching {
  /** The CNF block trained, and the fixed blocks before and after it. */
  readonly cnf: CNF;
  private readonly before: Bijector[];
  private readonly after: Bijector[];
  private readonly sigma: number;
  private readonly seed: number;
  private draws = 0;
  private solver: AssignmentSolver | null = null;
  private cost: Float64Array | null = null;

  readonly flow: Flow;

  /** Checks the flow and options (typed errors naming the option; see {@link flowMatchingObjective}). */
  constructor(
    flow: unknown,
    readonly options: FlowMatchingOptions,
  ) {
    const at = checkFlowMatching(flow, options);
    this.flow = flow as Flow;
    const blocks = leafBlocks(this.flow.bijector);
    this.cnf = blocks[at] as CNF;
    this.before = blocks.slice(0, at);
    this.after = blocks.slice(at + 1);
    this.sigma = options.sigma ?? 0;
    this.seed = options.seed ?? 0;
  }

  /** The CNF's net only: √T stays fixed, the other blocks are a fixed preprocessing. */
  get trainableVariables(): tf.Variable[] {
    return this.cnf.net.variables;
  }

  /**
   * Data-dependent initialisation on the first batch: the context's standardisation (a
   * conditional flow's, fitted to `context` as Flow.initialize fits it), then the blocks before
   * the CNF (ActNorm, the data's standardisation).
   */
  initialize(x: tf.Tensor2D, context?: tf.Tensor2D): void {
    const c = this.flow.initialContext('train', context, x.shape[0]);
    try {
      tf.tidy(() => {
        let y = x;
        for (const b of this.before) {
          b.initialize?.(y, { context: c });
          y = b.forward(y, { context: c }).y;
        }
      });
    } finally {
      c?.dispose();
    }
  }

  /**
   * The flow-matching loss on a batch of data rows (fresh base samples, times and noise each
   * call); a conditional flow's batch comes with its context rows, one per data row, standardised
   * as Flow.loss does. The blocks before the CNF map the data given c, those after it the base
   * samples, and the field regresses f(t, x | c) onto u.
   */
  loss(x: tf.Tensor2D, context?: tf.Tensor2D): tf.Scalar {
    const n = x.shape[0];
    const D = this.cnf.dim;
    const c = this.flow.blockContext('train', context, n);
    // tfjs treats seed 0 as unseeded: every draw's seed is ≥ 1.
    // stableDraw: a replayed attempt (runDeferred, WebGPU) draws what the first attempt drew.
    const s = (this.seed * 1_000_003 + stableDraw(() => ++this.draws)) * 4;
    // Everything this call makes is freed once, at the end, whichever step fails.
    const owned: tf.Tensor[] = c ? [c] : [];
    try {
      const [x0, x1] = tf.tidy(() => {
        let a = x;
        for (const b of this.before) a = b.forward(a, { context: c }).y;
        let z = this.flow.base.sample(n, s + 1);
        for (let i = this.after.length - 1; i >= 0; i--) z = this.after[i]!.inverse(z, { context: c }).x;
        return [a, z];
      });
      // x0 is the caller's x unless blocks came before the CNF.
      owned.push(x1, ...(this.before.length > 0 ? [x0] : []));
      // OT pairs permute the base rows only: each data row keeps its own context row.
      let paired = x1;
      if (this.options.objective === 'ot-cfm') {
        if (this.solver?.n !== n) {
          this.solver = new AssignmentSolver(n);
          this.cost = new Float64Array(n * n);
        }
        // readValues: answered from runDeferred's log where reads are asynchronous (WebGPU).
        const perm = squaredDistanceAssignment(readValues(tf.clone(x0), 'FlowMatching.loss'), readValues(tf.clone(x1), 'FlowMatching.loss'), D, this.solver, this.cost!);
        paired = tf.tidy(() => tf.gather(x1, tf.tensor1d(perm, 'int32')));
        owned.push(paired);
      }
      return tf.tidy(() => {
        const tau = tf.randomUniform([n, 1], 0, 1, 'float32', s + 2) as tf.Tensor2D;
        const eps = this.sigma > 0 ? (tf.randomNormal([n, D], 0, 1, 'float32', s + 3) as tf.Tensor2D) : null;
        const { t, x: xt, u } = flowMatchingBatch(x0, paired, tau, this.cnf.T, this.sigma, eps);
        return this.cnf.net.flowMatchingLoss(t, xt, u, this.options.fused ?? true, c);
      });
    } finally {
      tf.dispose(owned);
    }
  }

  /** The exact held-out NLL of the flow in nats, given the rows' contexts for a conditional flow (what `validation` scores; exact by default). */
  evaluate(rows: Float32Array, context?: Float32Array): number {
    return this.flow.evaluate(rows, context);
  }
}

/**
 * The flow-matching training model of `flow` (see the module notes for which flows qualify):
 * its `loss` is the FM loss and its variables the CNF's net. Typed errors name the option.
 * `train(flow, data, { objective })` builds it; use it directly for a loop of your own.
 *
 * @example
 * ```ts
 * import { createFlow, flowMatchingObjective, tf, toyData } from 'biflow';
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * const fm = flowMatchingObjective(flow, { objective: 'ot-cfm' });
 * const opt = tf.train.adam(1e-3);
 * const x = tf.tensor2d(toyData('8gaussians', 256, 1), [256, 2]);
 * opt.minimize(() => fm.loss(x), false, fm.trainableVariables);   // one FM step; flow.logProb stays exact
 * ```
 */
export function flowMatchingObjective(flow: unknown, options: FlowMatchingOptions): FlowMatching {
  return new FlowMatching(flow, options);
}
