/**
 * Row rules every flow shares: evaluation in batches of rows (bounded memory for large N), and
 * NaN for rows with a non-finite entry (the other rows untouched).
 */
import { readValues } from '../backend/reads.js';
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
function finiteRows(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.all(tf.isFinite(x), 1) as tf.Tensor1D);
}

/**
 * `fn` on the finite rows of x only, its row outputs put back in place and NaN in the rows with a
 * NaN or ±Inf entry — for blocks that cannot evaluate a batch with a bad row in it (a CNF's
 * adaptive solve shares its steps across the batch). Reads one flag per row. Rows are cut and put
 * back by slices and concatenations of the runs of good rows (differentiable on every backend;
 * wasm has no gradient kernel for gather).
 */
export function onFiniteRows<T extends tf.Tensor[]>(x: tf.Tensor2D, fn: (rows: tf.Tensor2D) => T): T {
  const ok = readValues(finiteRows(x), 'onFiniteRows');
  // Runs of consecutive rows that are all good or all bad: [start, length, good].
  const runs: [number, number, boolean][] = [];
  for (let i = 0; i < ok.length; i++) {
    const v = ok[i];
    const last = runs[runs.length - 1];
    if (last && last[2] === !!v) last[1]++;
    else runs.push([i, 1, !!v]);
  }
  if (runs.every((r) => r[2])) return fn(x);
  const good = runs.filter((r) => r[2]);
  // fn sees 0 rows when every row is bad: it must accept an empty batch.
  const rows = tf.tidy(() => (good.length === 0 ? tf.zeros([0, x.shape[1]]) : tf.concat(good.map(([s, n]) => tf.slice(x, [s, 0], [n, -1])))) as tf.Tensor2D);
  let out: T;
  try {
    out = fn(rows);
  } finally {
    rows.dispose();
  }
  try {
    return tf.tidy(() =>
      out.map((t) => {
        const inner = t.shape.slice(1);
        let at = 0;
        const parts = runs.map(([, n, isGood]) => {
          if (!isGood) return tf.fill([n, ...inner], NaN);
          const part = tf.slice(t, [at, ...inner.map(() => 0)], [n, ...inner.map(() => -1)]);
          at += n;
          return part;
        });
        return parts.length === 1 ? parts[0]! : tf.concat(parts);
      }),
    ) as T;
  } finally {
    tf.dispose(out);
  }
}
