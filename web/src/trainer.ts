/**
 * One model being trained in the page: the flow, trained by biflow's own `train` (stop and
 * resume through its AbortSignal and an in-memory Checkpointer that keeps Adam's state between
 * runs), and the evaluations the panels draw (density grid, samples, trajectories). Every method
 * leaves the tfjs tensor count where it found it; the browser test checks that over the iterations.
 */
import { CNF, InvalidArgumentError, createFlow, flowMatchingObjective, leafBlocks, runDeferred, tf, train } from 'biflow';
import type { Checkpointer, CheckpointSession, Dataset, Flow, FlowConfig, FlowType, MethodName, Objective, RunProgress, TraceEstimator } from 'biflow';
import type { Extent } from './draw.js';

/** The knobs of the page. */
export interface Knobs {
  model: FlowType;
  /** ml: maximum likelihood; cfm / ot-cfm: flow matching of the CNF block. */
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

/** What {@link Trainer.run} reports to the page. */
export interface RunOptions {
  signal: AbortSignal;
  /** Stop at this iteration (Infinity: until stopped). */
  until: number;
  /** Held-out rows, scored (exact NLL) every `evalEvery` iterations. */
  validation: Float32Array;
  evalEvery: number;
  onIteration: () => Promise<void>;
  onEvaluation: (nll: number) => Promise<void>;
}

/**
 * Keeps a run's optimizer state and progress in memory between runs of `train`, so that stop →
 * resume continues the same Adam run (train saves here when it stops, restores from here when it
 * resumes). Its copies of the moments replace the optimizer's, so the tensor count stays put.
 */
class MemoryCheckpointer implements Checkpointer {
  private kept: { step: number; moments: tf.Tensor[]; progress: RunProgress } | null = null;
  disposed = false;

  async open(): Promise<CheckpointSession> {
    const kept = this.kept;
    return {
      resumed: kept?.progress ?? null,
      restore: (optimizer) => {
        const problem = optimizer.setState(kept!.step, kept!.moments);
        if (problem) throw new Error(`playground: the kept optimizer state does not fit: ${problem}`);
      },
      save: async (optimizer, progress) => {
        const { step, moments } = optimizer.state();
        this.release();
        if (!this.disposed) this.kept = { step, moments: moments.map((m) => tf.clone(m)), progress: { ...progress, history: [...progress.history] } };
        return 'memory';
      },
      close: async () => {},
    };
  }

  release(): void {
    tf.dispose(this.kept?.moments ?? []);
    this.kept = null;
  }
}

/** A flow and its training runs; the rest evaluate without gradients. */
export class Trainer {
  readonly flow: Flow;
  readonly history: Record[] = [];
  readonly nll: [number, number][] = [];
  iter = 0;
  /** Seconds spent training (from one iteration's end to the next: no drawing). */
  trainSeconds = 0;
  private readonly memory = new MemoryCheckpointer();
  private running: Promise<unknown> | null = null;
  private released = false;

  /** Throws the registry's typed error when the knobs name a flow that cannot be built. */
  constructor(
    readonly knobs: Knobs,
    private readonly batchOf: (i: number, n: number) => Float32Array,
  ) {
    if (!Number.isInteger(knobs.batch) || knobs.batch < 1) throw new InvalidArgumentError('playground', 'batch', knobs.batch, 'must be a positive integer such as 256, got {value}.');
    if (!(knobs.lr > 0 && knobs.lr < 1)) throw new InvalidArgumentError('playground', 'lr', knobs.lr, 'must be a learning rate in (0, 1) such as 0.005, got {value}.');
    this.flow = createFlow(configFor(knobs));
    try {
      // A flow the objective cannot train (flow matching of a discrete flow) is refused here, not at the first run.
      if (knobs.objective !== 'ml') flowMatchingObjective(this.flow, { objective: knobs.objective });
    } catch (e) {
      this.flow.dispose();
      throw e;
    }
  }

  /** Trains until `until` or until `signal` aborts (then after the current iteration), continuing the previous run. */
  async run(o: RunOptions): Promise<void> {
    await this.running;
    const data: Dataset = { name: 'page', dim: 2, batch: (i, n) => this.batchOf(i, n), test: o.validation };
    let mark = performance.now();
    this.running = train(this.flow, data, {
      iters: Number.isFinite(o.until) ? o.until : Number.MAX_SAFE_INTEGER, batch: this.knobs.batch, lr: this.knobs.lr, progress: 'none', logEvery: 100,
      checkpointDir: 'memory', resumeFrom: this.iter > 0 ? 'memory' : undefined, saveModel: async () => {}, signal: o.signal,
      validation: o.validation, evalEvery: o.evalEvery, objective: this.knobs.objective,
      callbacks: {
        onIterationEnd: async (iter, logs) => {
          this.trainSeconds += (performance.now() - mark) / 1000;
          this.iter = iter;
          this.history.push({ iter, loss: logs.loss, nfeForward: logs.nfeForward ?? 0, nfeBackward: logs.nfeBackward ?? 0 });
          await o.onIteration();
          mark = performance.now();
        },
        onEvaluation: async (iter, { validationNll }) => {
          this.nll.push([iter, validationNll]);
          await o.onEvaluation(validationNll);
          mark = performance.now();
        },
      },
    }, this.memory);
    try {
      await this.running;
    } finally {
      this.running = null;
      if (this.memory.disposed) this.release();
    }
  }

  /** The model density on an n×n grid over `extent` (async: WebGPU reads only asynchronously). */
  density(extent: Extent, n: number): Promise<Float32Array> {
    return this.flow.densityGridAsync(extent as [number, number, number, number], n);
  }

  /** n samples as a row-major [n, 2] array. */
  async samples(n: number): Promise<Float32Array> {
    const x = await this.flow.sampleAsync(n, { seed: 7 });
    const out = (await x.data()) as Float32Array;
    x.dispose();
    return out;
  }

  /**
   * The points x (row-major [n, 2]) as they move through the flow from data to latent: one frame
   * per block of a discrete flow, `count` frames along the ODE of each CNF block.
   */
  async frames(x: Float32Array, count = 24): Promise<Float32Array[]> {
    const n = x.length / 2;
    const blocks = leafBlocks(this.flow.bijector);
    const frames = [x];
    let cur = tf.tensor2d(x, [n, 2]);
    for (const b of blocks) {
      let next: tf.Tensor2D;
      if (b instanceof CNF) {
        const from = cur;
        const path = await runDeferred(() => b.trajectory(from, count));
        path.slice(1).forEach((s) => frames.push(Float32Array.from(s.flat())));
        next = tf.tensor2d(frames[frames.length - 1]!, [n, 2]);
      } else {
        const from = cur;
        next = await runDeferred(() => tf.tidy(() => b.forward(from).y));
        frames.push((await next.data()) as Float32Array);
      }
      cur.dispose();
      cur = next;
    }
    cur.dispose();
    return frames;
  }

  /** Frees the model; a run still finishing its iteration frees it when it is done. */
  dispose(): void {
    this.memory.disposed = true;
    if (!this.running) this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.memory.release();
    this.flow.dispose();
  }
}
