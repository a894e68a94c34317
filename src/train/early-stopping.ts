/**
 * Early stopping on the validation NLL (Keras's EarlyStopping callback, which tfjs users know):
 * stop once `patience` evaluations in a row have not improved on the best by more than
 * `minDelta`; optionally put the best weights back at the end.
 */
import { tf } from '../backend/engine.js';

/** Options of early stopping (train's `earlyStopping`). */
export interface EarlyStoppingOptions {
  /** Evaluations without improvement before training stops (a positive integer). */
  patience: number;
  /** An evaluation improves on the best only if it is lower by more than this (nats, default 0). */
  minDelta?: number;
  /** At the end, give the model the weights of its best evaluation (default false: the last ones). */
  restoreBestWeights?: boolean;
}

/** The best evaluation so far, and (with restoreBestWeights) a copy of its weights. */
export class EarlyStopping {
  bestIter = 0;
  best = Infinity;
  private waited = 0;
  private weights: tf.Tensor[] = [];

  constructor(
    private readonly vars: readonly tf.Variable[],
    private readonly o: EarlyStoppingOptions,
  ) {}

  /** Records the evaluation `nll` after iteration `iter`; true when training should stop. */
  update(iter: number, nll: number): boolean {
    if (nll < this.best - (this.o.minDelta ?? 0)) {
      this.best = nll;
      this.bestIter = iter;
      this.waited = 0;
      if (this.o.restoreBestWeights) {
        tf.dispose(this.weights);
        this.weights = this.vars.map((v) => tf.clone(v));
      }
      return false;
    }
    return ++this.waited >= this.o.patience;
  }

  /** Puts the best weights back (restoreBestWeights only; nothing if no evaluation improved). */
  restore(): void {
    if (this.o.restoreBestWeights && this.weights.length) this.vars.forEach((v, i) => v.assign(this.weights[i]!));
  }

  dispose(): void {
    tf.dispose(this.weights);
    this.weights = [];
  }
}
