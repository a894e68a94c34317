/**
 * The SBI example's metrics against a true posterior p, for a learned q(θ | x_o):
 * - KL(p‖q) = E_p[log p(θ) − log q(θ | x_o)], estimated on exact samples of p;
 * - C2ST (sbibm's metric): the 5-fold cross-validated accuracy of a small seeded MLP classifier
 *   telling samples of q from samples of p, both z-scored by p's samples' mean and std; 0.5 means
 *   the two cannot be told apart, 1 that they always can.
 */
import { tf } from '../src/backend/engine.js';
import { rng } from '../src/data/random.js';
import { shuffleRows } from '../src/data/random.js';
import type { Flow } from '../src/flows/flow.js';
import { MLP } from '../src/nn/mlp.js';
import { Adam } from '../src/train/adam.js';

/** KL(p‖q) in nats from samples of p (row-major [n, 2]) and their exact log p. */
export function klFromSamples(flow: Flow, xo: readonly number[], samples: Float32Array, logp: Float64Array): number {
  const n = logp.length;
  const logq = tf.tidy(() => flow.logProb(tf.tensor2d(samples, [n, 2]), { context: xo as number[] }).dataSync());
  let s = 0;
  for (let k = 0; k < n; k++) s += logp[k]! - logq[k]!;
  return s / n;
}

/** Options of {@link c2st}: folds, classifier steps and hidden sizes, seed. */
export interface C2stOptions {
  folds?: number;
  steps?: number;
  hidden?: number[];
  seed?: number;
}

/**
 * Classifier two-sample test accuracy between `p` and `q` (row-major [n, d] each, the same n):
 * full-batch Adam on the logistic loss, k-fold cross-validated, the folds' mean accuracy.
 */
export function c2st(p: Float32Array, q: Float32Array, d: number, { folds = 5, steps = 300, hidden = [32, 32], seed = 0 }: C2stOptions = {}): number {
  const n = p.length / d;
  // z-score both by p's statistics (sbibm does), so the classifier's scale does not depend on the task.
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let k = 0; k < n; k++) for (let j = 0; j < d; j++) mean[j] += p[k * d + j]! / n;
  for (let k = 0; k < n; k++) for (let j = 0; j < d; j++) std[j] += (p[k * d + j]! - mean[j]!) ** 2 / n;
  const rows = new Float32Array(2 * n * (d + 1));
  for (let k = 0; k < 2 * n; k++) {
    const src = k < n ? p : q;
    const r = k % n;
    for (let j = 0; j < d; j++) rows[k * (d + 1) + j] = (src[r * d + j]! - mean[j]!) / Math.sqrt(std[j]! || 1);
    rows[k * (d + 1) + d] = k < n ? 0 : 1;
  }
  shuffleRows(rows, d + 1, rng(`c2st:${seed}`));
  const total = 2 * n;
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const [lo, hi] = [Math.floor((f * total) / folds), Math.floor(((f + 1) * total) / folds)];
    const train = new Float32Array((total - (hi - lo)) * (d + 1));
    train.set(rows.subarray(0, lo * (d + 1)));
    train.set(rows.subarray(hi * (d + 1)), lo * (d + 1));
    correct += foldAccuracy(train, rows.subarray(lo * (d + 1), hi * (d + 1)), d, { steps, hidden, seed: seed * 31 + f + 1 }) * (hi - lo);
  }
  return correct / total;
}

/** Trains a fresh classifier on `train` rows ([features…, label]) and returns its accuracy on `test`. */
function foldAccuracy(train: Float32Array, test: Float32Array, d: number, { steps, hidden, seed }: { steps: number; hidden: number[]; seed: number }): number {
  const net = new MLP(d, hidden, 1, { activation: 'relu', zeroLast: false, seed });
  const adam = new Adam(net.variables, { lr: 1e-2 });
  const split = (rows: Float32Array) => {
    const t = tf.tensor2d(rows, [rows.length / (d + 1), d + 1]);
    const [x, y] = tf.split(t, [d, 1], 1) as [tf.Tensor2D, tf.Tensor2D];
    t.dispose();
    return { x, y };
  };
  const tr = split(train);
  const te = split(test);
  try {
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(tr.y, net.apply(tr.x)) as tf.Scalar, net.variables);
      adam.apply(net.variables.map((v) => grads[v.name]));
      tf.dispose([value, ...Object.values(grads)]);
    }
    return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.greater(net.apply(te.x), 0), tf.cast(te.y, 'bool')), 'float32')).dataSync()[0]!);
  } finally {
    tf.dispose([tr.x, tr.y, te.x, te.y]);
    adam.dispose();
    net.dispose();
  }
}
