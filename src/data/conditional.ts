/**
 * Conditional datasets: rows of (x, c) — simulations (θ, x) for simulation-based inference, or a
 * file whose named columns are the context. The context columns move to the end of each row, so
 * the split and the batches draw x and c as whole rows and they stay paired.
 */
import { InvalidArgumentError } from '../errors.js';
import { DataFileError } from './data-error.js';
import type { Table } from './data-error.js';
import type { Dataset } from './dataset.js';
import { rng, shuffleRows } from './random.js';

/**
 * The table with the `context` columns (header names or 0-based indices) moved to the end, and
 * their names; a DataFileError naming the file for an unknown, repeated or all-column choice.
 */
export function contextColumns(table: Table, context: readonly (string | number)[], file: string): { joined: Table; names: string[] } {
  const fn = 'loadDataset';
  if (!Array.isArray(context) || context.length === 0) throw new InvalidArgumentError(fn, 'context', context, 'must name at least one column (header names or 0-based indices), got {value}.');
  const known = table.columns ? `its columns are ${table.columns.join(', ')} (or indices 0…${table.dim - 1})` : `it has no header, so give 0-based indices 0…${table.dim - 1}`;
  const idx = context.map((c) => {
    const byName = typeof c === 'string' ? (table.columns?.indexOf(c) ?? -1) : -1;
    const i = byName >= 0 ? byName : typeof c === 'number' || /^\d+$/.test(c) ? Number(c) : -1;
    if (!Number.isSafeInteger(i) || i < 0 || i >= table.dim) throw new DataFileError(file, `has no column ${JSON.stringify(c)} for the context`, `Name context columns that exist: ${known}.`, fn);
    return i;
  });
  if (new Set(idx).size !== idx.length) throw new DataFileError(file, `names a context column twice (${context.join(', ')})`, 'Name each context column once.', fn);
  if (idx.length >= table.dim) throw new DataFileError(file, `would have every column as context (${context.join(', ')})`, 'Leave at least one column to model.', fn);
  const order = [...Array.from({ length: table.dim }, (_, j) => j).filter((j) => !idx.includes(j)), ...idx];
  const data = new Float32Array(table.data.length);
  for (let r = 0; r < table.rows; r++) order.forEach((j, k) => (data[r * table.dim + k] = table.data[r * table.dim + j]!));
  const names = idx.map((i) => table.columns?.[i] ?? String(i));
  return { joined: { data, rows: table.rows, dim: table.dim }, names };
}

/**
 * Paired rows (x, c) as a conditional dataset (a `Dataset` with its `context` part): a seeded
 * 90/10 split, batches of aligned rows — simulations (θ, x) to train a posterior q(θ | x).
 *
 * @example
 * ```ts
 * import { conditionalDataset } from 'biflow';
 *
 * const theta = { data: Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7), rows: 4, dim: 2 };
 * const x = { data: Float32Array.of(0.1, 1.2, 1.9, 3.3), rows: 4, dim: 1 };
 * const data = conditionalDataset('sims', theta, x, { seed: 1 });
 * data.batch(0, 8);            // 8 rows of θ …
 * data.context!.batch(0, 8);   // … and the x of each, row for row
 * ```
 */
export function conditionalDataset(name: string, x: Table, context: Table, { seed = 0, testFraction = 0.1 }: { seed?: number; testFraction?: number } = {}): Dataset {
  const fn = 'conditionalDataset';
  if (!(testFraction >= 0 && testFraction < 1)) throw new InvalidArgumentError(fn, 'testFraction', testFraction, 'must be in [0, 1) (0: train on every row, no test set), got {value}.');
  if (x.rows !== context.rows) throw new InvalidArgumentError(fn, 'context.rows', context.rows, `must equal the ${x.rows} rows of x (one context per row), got {value}.`);
  if (x.rows < (testFraction > 0 ? 2 : 1)) throw new InvalidArgumentError(fn, 'x.rows', x.rows, `must be at least ${testFraction > 0 ? '2 (one held out as the test set)' : '1'}, got {value}.`);
  const w = x.dim + context.dim;
  const data = new Float32Array(x.rows * w);
  for (let r = 0; r < x.rows; r++) {
    data.set(x.data.subarray(r * x.dim, (r + 1) * x.dim), r * w);
    data.set(context.data.subarray(r * context.dim, (r + 1) * context.dim), r * w + x.dim);
  }
  return rowsDataset(name, { data, rows: x.rows, dim: w }, seed, context.dim, testFraction);
}

/**
 * Rows as a dataset: a seeded split (`testFraction` of the rows, at least one unless 0, held out),
 * batches drawn with replacement. The last `contextDim` columns are the context part: x and c are
 * split and drawn as whole rows, so they stay paired.
 */
export function rowsDataset(name: string, table: Table, seed: number, contextDim: number, testFraction = 0.1): Dataset {
  const data = shuffleRows(table.data.slice(), table.dim, rng(`split:${seed}`));
  const nTest = testFraction === 0 ? 0 : Math.max(1, Math.round(table.rows * testFraction));
  const train = data.subarray(nTest * table.dim);
  const nTrain = table.rows - nTest;
  const w = table.dim;
  const d = w - contextDim;
  // Columns [from, from + width) of the rows drawn for batch i (the same rows for x and for c).
  const columns = (rows: Float32Array, n: number, pick: (k: number) => number, from: number, width: number) => {
    const out = new Float32Array(n * width);
    for (let k = 0; k < n; k++) {
      const row = pick(k);
      out.set(rows.subarray(row * w + from, row * w + from + width), k * width);
    }
    return out;
  };
  const batch = (from: number, width: number) => (i: number, size: number) => {
    const r = rng(`batch:${seed}:${i}`);
    return columns(train, size, () => r.int(nTrain), from, width);
  };
  const test = (from: number, width: number) => columns(data, nTest, (k) => k, from, width);
  if (contextDim === 0) return { name, dim: w, batch: (i, size) => batch(0, w)(i, size), test: data.subarray(0, nTest * w) };
  return { name, dim: d, batch: batch(0, d), test: test(0, d), context: { dim: contextDim, batch: batch(d, contextDim), test: test(d, contextDim) } };
}
