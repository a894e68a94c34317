/**
 * Row rules every flow shares: evaluation in batches of rows (bounded memory for large N), and
 * NaN for rows with a non-finite entry (the other rows untouched).
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Rows per batch of `Flow.logProb`, `sample`, `densityGrid` and `nll` unless `batch` is given:
 * large enough that small requests are one batch (one solve for a CNF), small enough that a
 * batch's working set stays far below any backend's memory for the usual widths.
 */
export const DEFAULT_BATCH = 8192;

/** Rejects a batch size that is not a positive integer. */
export function checkBatch(fn: string, batch: unknown): number {
  if (batch === undefined) return DEFAULT_BATCH;
  if (!Number.isSafeInteger(batch) || (batch as number) < 1) throw new InvalidArgumentError(fn, 'batch', batch, `must be a positive integer (rows per batch), got {value}. The default is ${DEFAULT_BATCH}.`);
  return batch as number;
}

/**
 * `fn` on consecutive slices of at most `batch` of the `n` rows, results concatenated along the
 * rows (tf.concat is differentiable, so this works under a gradient tape too). One batch: `fn`
 * itself, no copies.
 */
export function inBatches<T extends tf.Tensor[]>(n: number, batch: number, fn: (start: number, size: number) => T): T {
  if (n <= batch) return fn(0, n);
  const parts: T[] = [];
  try {
    for (let s = 0; s < n; s += batch) parts.push(fn(s, Math.min(batch, n - s)));
    return parts[0]!.map((_, k) => tf.concat(parts.map((p) => p[k]!))) as T;
  } finally {
    for (const p of parts) tf.dispose(p);
  }
}

/** true per row of x whose entries are all finite, as a bool tensor `[N]`. */
export function finiteRows(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.all(tf.isFinite(x), 1) as tf.Tensor1D);
}

/**
 * `fn` on the finite rows of x only, its row outputs put back in place and NaN in the rows with a
 * NaN or ±Inf entry — for blocks that cannot evaluate a batch with a bad row in it (a CNF's
 * adaptive solve shares its steps across the batch). Reads one flag per row; differentiable.
 */
export function onFiniteRows<T extends tf.Tensor[]>(x: tf.Tensor2D, fn: (rows: tf.Tensor2D) => T): T {
  const flags = finiteRows(x);
  const ok = flags.dataSync();
  flags.dispose();
  const keep: number[] = [];
  ok.forEach((v, i) => v && keep.push(i));
  if (keep.length === ok.length) return fn(x);
  const idx = tf.tensor1d(keep, 'int32');
  const rows = tf.gather(x, idx) as tf.Tensor2D;
  idx.dispose();
  let out: T;
  try {
    out = fn(rows);
  } finally {
    rows.dispose();
  }
  // Row i takes the output row at its place among the kept rows, or the appended NaN row.
  const where = new Int32Array(ok.length);
  let k = 0;
  ok.forEach((v, i) => (where[i] = v ? k++ : keep.length));
  try {
    return tf.tidy(() => {
      const at = tf.tensor1d(where, 'int32');
      return out.map((t) => tf.gather(tf.concat([t, tf.fill([1, ...t.shape.slice(1)], NaN)]), at)) as T;
    });
  } finally {
    tf.dispose(out);
  }
}
