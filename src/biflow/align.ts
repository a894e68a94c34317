/**
 * Training the one-pass generator by hidden alignment, after F or jointly with it.
 *
 *   L_G = w_a · mean_{j=1…M−1} ‖ĥⱼ − hⱼ‖² + w_r · ‖ĥ₀ − x‖²,   ĥ = G's chain from z = h_M = F(x),
 *
 * (squared norms averaged over the batch). `schedule: 'after'` trains G alone on a trained F;
 * `'joint'` adds F's own loss (NLL, RNODE terms) and trains both in one loop. With `freezeFlow`
 * (default) F's states are targets only — no alignment gradient reaches F; without it the
 * alignment also shapes F (and with `'after'`, F is fine-tuned by NLL + alignment).
 * `trainGenerator` (train-generator.ts) runs it in the shared training loop.
 */
import { tf } from '../backend/engine.js';
import { canReadSync, deferredRun, readValues } from '../backend/reads.js';
import { InvalidArgumentError } from '../errors.js';
import type { Flow } from '../flows/flow.js';
import { withoutOuterTape } from '../ode/gradients.js';
import type { Trainable } from '../train/train.js';
import { countStates, forwardStates } from './generator.js';
import type { Generator } from './generator.js';

/** How the generator is trained: after F or jointly with it, F frozen or not, and the loss weights. */
export interface AlignmentOptions {
  schedule?: 'after' | 'joint';
  freezeFlow?: boolean;
  alignWeight?: number;
  reconstructionWeight?: number;
}

/** The alignment loss as a {@link Trainable}, for the shared training loop. */
export class AlignmentObjective implements Trainable {
  private readonly schedule: 'after' | 'joint';
  private readonly freezeFlow: boolean;
  private readonly alignWeight: number;
  private readonly reconstructionWeight: number;
  private last: { align: tf.Scalar; reconstruction: tf.Scalar } | null = null;
  /** The same terms as numbers, read inside the step where reads are only asynchronous (WebGPU). */
  private lastValues: [number, number] | null = null;

  constructor(
    readonly flow: Flow,
    readonly generator: Generator,
    { schedule = 'after', freezeFlow = true, alignWeight = 1, reconstructionWeight = 1 }: AlignmentOptions = {},
  ) {
    const fn = 'AlignmentObjective';
    if (schedule !== 'after' && schedule !== 'joint') throw new InvalidArgumentError(fn, 'schedule', schedule, "must be 'after' or 'joint', got {value}.");
    if (!(alignWeight >= 0) || !(reconstructionWeight >= 0)) throw new InvalidArgumentError(fn, 'alignWeight', [alignWeight, reconstructionWeight], 'and reconstructionWeight must be non-negative numbers, got {value}.');
    const expected = countStates(flow.bijector, generator.interior);
    if (generator.count !== expected || generator.dim !== flow.dim || generator.contextDim !== flow.contextDim) {
      throw new InvalidArgumentError(fn, 'generator', [generator.dim, generator.count], `must have dim ${flow.dim}, contextDim ${flow.contextDim} and ${expected} segments for this flow (countStates(flow.bijector, ${generator.interior})), got {value}.`);
    }
    this.schedule = schedule;
    this.freezeFlow = freezeFlow;
    this.alignWeight = alignWeight;
    this.reconstructionWeight = reconstructionWeight;
  }

  /** Whether F's variables are updated too. */
  get trainsFlow(): boolean {
    return this.schedule === 'joint' || !this.freezeFlow;
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.generator.trainableVariables, ...(this.trainsFlow ? this.flow.trainableVariables : [])];
  }

  initialize(x: tf.Tensor2D, context?: tf.Tensor2D): void {
    if (this.schedule === 'joint') this.flow.initialize(x, context);
  }

  loss(x: tf.Tensor2D, context?: tf.Tensor2D): tf.Scalar {
    // The context as the flow's blocks see it (checked, standardised); the generator reads the same rows.
    const c = this.flow.blockContext('trainGenerator', context, x.shape[0]);
    try {
      return this.lossGiven(x, context, c);
    } finally {
      c?.dispose();
    }
  }

  private lossGiven(x: tf.Tensor2D, context: tf.Tensor2D | undefined, c: tf.Tensor2D | undefined): tf.Scalar {
    return tf.tidy(() => {
      // Frozen: F's states are constants, computed off the tape (no recording, no backward through F).
      const targets = this.freezeFlow
        ? withoutOuterTape(() => forwardStates(this.flow.bijector, x, this.generator.interior, c))
        : forwardStates(this.flow.bijector, x, this.generator.interior, c);
      const M = targets.length;
      const est = this.generator.chain(targets[M - 1]!, c);
      const sq = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.sum(tf.square(tf.sub(a, b)), 1)) as tf.Scalar;
      const reconstruction = sq(est[0]!, x);
      const align = M > 1 ? (tf.div(tf.addN(est.slice(1).map((e, j) => sq(e, targets[j]!))), M - 1) as tf.Scalar) : tf.scalar(0);
      tf.dispose(this.last ? [this.last.align, this.last.reconstruction] : []);
      this.last = { align: tf.keep(align), reconstruction: tf.keep(reconstruction) };
      if (deferredRun()) {
        // No synchronous reads (the step runs by replay): read both terms now, in one read, for stats().
        const [a, r] = Array.from(readValues(tf.stack([align, reconstruction]), 'AlignmentObjective.loss'));
        this.lastValues = [a!, r!];
      }
      let total = tf.add(tf.mul(this.alignWeight, align), tf.mul(this.reconstructionWeight, reconstruction)) as tf.Scalar;
      if (this.schedule === 'joint' || !this.freezeFlow) total = tf.add(total, this.flow.loss(x, context));
      return total;
    });
  }

  /** The latest alignment and reconstruction terms, and F's solver statistics. */
  stats(): Record<string, number> {
    const out: Record<string, number> = { ...this.flow.stats() };
    if (this.last) {
      const [align, reconstruction] = canReadSync() || !this.lastValues ? [readValues(tf.clone(this.last.align), 'AlignmentObjective.stats')[0]!, readValues(tf.clone(this.last.reconstruction), 'AlignmentObjective.stats')[0]!] : this.lastValues;
      out.align = align;
      out.reconstruction = reconstruction;
    }
    return out;
  }

  /** Releases the loss terms it keeps for `stats`. */
  dispose(): void {
    tf.dispose(this.last ? [this.last.align, this.last.reconstruction] : []);
    this.last = null;
    this.lastValues = null;
  }
}
