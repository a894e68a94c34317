/**
 * One model being trained in the page: the flow, its Adam optimizer, and the evaluations the
 * panels draw (test NLL, density grid, samples, trajectories). Every method leaves the tfjs
 * tensor count where it found it; the browser test checks that over the iterations.
 */
import { CNF, InvalidArgumentError, createFlow, flowMatchingObjective, leafBlocks, setTrace, tf } from 'biflow';
import type { Flow, FlowConfig, FlowType, MethodName, Objective, TraceEstimator } from 'biflow';
import type { Extent } from './draw.js';

/** The knobs of the page. */
export interface Knobs {
  model: FlowType;
  /** 'ml', or flow matching of the CNF block ('cfm', 'ot-cfm': ffjord). */
  objective: Objective;
  hidden: number[];
  solver: MethodName;
  tol: number;
  trace: TraceEstimator;
  batch: number;
  lr: number;
}

const FIXED_STEP: readonly MethodName[] = ['euler', 'midpoint', 'heun', 'rk4'];

/**
 * The registry configuration for the knobs (2-D data). The solver knobs apply to every CNF block:
 * ffjord's, and the two of the biflow stack (whose couplings and CNF nets both take `hidden`).
 */
export function configFor(k: Knobs): FlowConfig {
  if (k.model !== 'ffjord' && k.model !== 'biflow') return { type: k.model, dim: 2, hidden: k.hidden };
  const fixed = FIXED_STEP.includes(k.solver);
  const cnf = { method: k.solver, rtol: k.tol, atol: k.tol, trace: k.trace, ...(fixed ? { stepSize: 0.05 } : {}) };
  return k.model === 'ffjord' ? { type: 'ffjord', dim: 2, hidden: k.hidden, cnf } : { type: 'biflow', dim: 2, hidden: k.hidden, cnfHidden: k.hidden, cnf };
}

/** One training record. */
export interface Record {
  iter: number;
  loss: number;
  nfeForward: number;
  nfeBackward: number;
}

/** A flow and its optimizer; `step` runs one iteration, the rest evaluate without gradients. */
export class Trainer {
  readonly flow: Flow;
  readonly history: Record[] = [];
  readonly nll: [number, number][] = [];
  iter = 0;
  /** Seconds spent inside `step` (training only, no drawing). */
  trainSeconds = 0;
  private readonly opt: tf.Optimizer;
  /** What `step` trains: the flow itself (ml) or its flow-matching objective. */
  private readonly model: { trainableVariables: tf.Variable[]; loss(x: tf.Tensor2D): tf.Scalar; initialize?(x: tf.Tensor2D): void };

  /** Throws the registry's typed error when the knobs name a flow that cannot be built. */
  constructor(
    readonly knobs: Knobs,
    private readonly batchOf: (i: number, n: number) => Float32Array,
  ) {
    if (!Number.isInteger(knobs.batch) || knobs.batch < 1) throw new InvalidArgumentError('playground', 'batch', knobs.batch, 'must be a positive integer such as 256, got {value}.');
    if (!(knobs.lr > 0 && knobs.lr < 1)) throw new InvalidArgumentError('playground', 'lr', knobs.lr, 'must be a learning rate in (0, 1) such as 0.005, got {value}.');
    this.flow = createFlow(configFor(knobs));
    try {
      this.model = knobs.objective === 'ml' ? this.flow : flowMatchingObjective(this.flow, { objective: knobs.objective });
    } catch (e) {
      this.flow.dispose();
      throw e;
    }
    this.opt = tf.train.adam(knobs.lr);
  }

  /** One Adam step on a fresh batch; resolves to the loss. */
  async step(): Promise<number> {
    const t0 = performance.now();
    const x = tf.tensor2d(this.batchOf(this.iter, this.knobs.batch), [this.knobs.batch, 2]);
    if (this.iter === 0) this.model.initialize?.(x);
    const loss = this.opt.minimize(() => this.model.loss(x), true, this.model.trainableVariables)!;
    const value = (await loss.data())[0]!;
    tf.dispose([x, loss]);
    this.trainSeconds += (performance.now() - t0) / 1000;
    this.iter++;
    // Flow matching solves no ODE while training: no training NFE.
    const s = this.knobs.objective === 'ml' ? this.flow.stats() : {};
    this.history.push({ iter: this.iter, loss: value, nfeForward: s.nfeForward ?? 0, nfeBackward: s.nfeBackward ?? 0 });
    return value;
  }

  /** Runs `fn` with the exact trace in every CNF block (evaluation), then restores the knob's. */
  private exact<T>(fn: () => T): T {
    setTrace(this.flow.bijector, 'exact');
    try {
      return fn();
    } finally {
      setTrace(this.flow.bijector, this.knobs.trace);
    }
  }

  /** Mean negative log-likelihood of held-out rows, in nats (exact trace); recorded for the chart. */
  testNll(rows: Float32Array): number {
    const v = this.exact(() => this.flow.nll(rows));
    this.nll.push([this.iter, v]);
    return v;
  }

  /** The model density on an n×n grid over `extent`. */
  density(extent: Extent, n: number): Float32Array {
    return this.exact(() => this.flow.densityGrid(extent as [number, number, number, number], n));
  }

  /** n samples as a row-major [n, 2] array. */
  async samples(n: number): Promise<Float32Array> {
    const x = this.flow.sample(n, { seed: 7 });
    const out = (await x.data()) as Float32Array;
    x.dispose();
    return out;
  }

  /**
   * The points x (row-major [n, 2]) as they move through the flow from data to latent: one frame
   * per block of a discrete flow, `count` frames along the ODE of each CNF block.
   */
  frames(x: Float32Array, count = 24): Float32Array[] {
    const n = x.length / 2;
    const blocks = leafBlocks(this.flow.bijector);
    const frames = [x];
    let cur = tf.tensor2d(x, [n, 2]);
    for (const b of blocks) {
      let next: tf.Tensor2D;
      if (b instanceof CNF) {
        const path = b.trajectory(cur, count);
        path.slice(1).forEach((s) => frames.push(Float32Array.from(s.flat())));
        next = tf.tensor2d(frames[frames.length - 1]!, [n, 2]);
      } else {
        next = tf.tidy(() => {
          const r = b.forward(cur);
          return r.y;
        });
        frames.push(next.dataSync() as Float32Array);
      }
      cur.dispose();
      cur = next;
    }
    cur.dispose();
    return frames;
  }

  dispose(): void {
    this.opt.dispose();
    this.flow.dispose();
  }
}
