/**
 * The five tabular density-estimation benchmarks of MAF, FFJORD and later flow papers, as pure
 * computation: dimensions, seeded train/validation/test splits, and standardisation with
 * statistics taken from the training split only.
 *
 * Units. Flows train on the standardised rows u = (x − μ)/σ. Standardising is part of the model
 * (DESIGN.md), so the density of the data as given is p(x) = p(u) · Π 1/σ_d and
 *   NLL(x) = NLL(u) + Σ_d log σ_d   (nats per sample).
 * `Standardization.logScale` is that Σ log σ_d; the literature's tables (MAF, FFJORD) report NLL(u).
 *
 * Reference: Papamakarios, Pavlakou, Murray, "Masked Autoregressive Flow for Density Estimation",
 * NeurIPS 2017, arXiv:1705.07057 (the preprocessed sets: doi:10.5281/zenodo.1161203).
 */
import { InvalidArgumentError } from '../errors.js';
import { DataFileError, requireRows } from './data-error.js';
import type { Table } from './data-error.js';
import { rng, shuffleRows } from './random.js';

/** Column counts of the MAF-preprocessed sets; `tabular` accepts any. */
export const TABULAR_DATASETS = { power: 6, gas: 8, hepmass: 21, miniboone: 43, bsds300: 63, tabular: 0 } as const;
/** A benchmark name as used in `NAME:DIR` specs. */
export type TabularName = keyof typeof TABULAR_DATASETS;

/** The three splits of a benchmark, each a row-major table of one width. */
export interface Splits {
  train: Table;
  validation: Table;
  test: Table;
}

/** Per-column mean and standard deviation of the training split, and Σ log σ. */
export interface Standardization {
  mean: Float64Array;
  std: Float64Array;
  /** Σ_d log σ_d: add it to an NLL of standardised rows to get nats in the data's own units. */
  logScale: number;
}

/**
 * Column means and standard deviations (float64 sums); a constant column keeps σ = 1.
 *
 * @example
 * ```ts
 * import { standardization, standardize } from 'biflow';
 *
 * const train = { data: Float32Array.of(1, 10, 2, 20, 3, 30), rows: 3, dim: 2 };
 * const s = standardization(train);   // mean [2, 20], std [1, 10] (n − 1), logScale = log 1 + log 10
 * standardize(train, s).data;         // Float32Array [−1, −1, 0, 0, 1, 1]
 * ```
 */
export function standardization(train: Table): Standardization {
  const { data, rows, dim } = train;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d] += data[r * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d] /= rows;
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) std[d] += (data[r * dim + d]! - mean[d]!) ** 2;
  let logScale = 0;
  for (let d = 0; d < dim; d++) {
    const s = Math.sqrt(std[d]! / Math.max(1, rows - 1));
    std[d] = s > 0 ? s : 1;
    logScale += Math.log(std[d]!);
  }
  return { mean, std, logScale };
}

/**
 * (x − μ)/σ of every row, as a new table.
 *
 * @example
 * ```ts
 * import { standardization, standardize } from 'biflow';
 *
 * const train = { data: Float32Array.of(1, 10, 2, 20, 3, 30), rows: 3, dim: 2 };
 * const test = { data: Float32Array.of(4, 40), rows: 1, dim: 2 };
 * standardize(test, standardization(train)).data;   // Float32Array [2, 2]: (x − μ)/σ with the training split's μ and σ
 * ```
 */
export function standardize(table: Table, s: Standardization): Table {
  const { data, rows, dim } = table;
  if (dim !== s.mean.length) throw new InvalidArgumentError('standardize', 'table.dim', dim, `must equal the statistics' ${s.mean.length} columns, got {value}.`);
  const out = new Float32Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = (data[k]! - s.mean[k % dim]!) / s.std[k % dim]!;
  return { data: out, rows, dim };
}

/** The train, validation and test row counts {@link splitTable} makes of `rows` rows. */
function splitSizes(rows: number, validation: number, test: number): { nTrain: number; nVal: number; nTest: number } {
  const nTest = Math.round(rows * test);
  const nVal = Math.round((rows - nTest) * validation);
  return { nTrain: rows - nTest - nVal, nVal, nTest };
}

const splittable = ({ nTrain, nVal, nTest }: ReturnType<typeof splitSizes>) => nTest >= 1 && nVal >= 1 && nTrain >= 2;

/**
 * The fewest rows {@link splitTable} can split with these fractions (6 for the default 10/10).
 * Every count grows with the rows, so the first size that splits is the minimum; the search starts
 * at a lower bound (a split of ≥ 1 row needs rows · fraction ≥ 0.5), so tiny fractions stay cheap.
 */
export function minSplitRows({ validation = 0.1, test = 0.1 }: { validation?: number; test?: number } = {}): number {
  let n = Math.max(4, Math.floor(0.5 / test), Math.floor(0.5 / validation));
  while (!splittable(splitSizes(n, validation, test))) n++;
  return n;
}

/**
 * Splits one table by a seeded shuffle: the last `test` fraction is the test split and `validation`
 * of the rest the validation split (MAF's scheme for POWER, GAS, MINIBOONE).
 *
 * @example
 * ```ts
 * import { splitTable, toyData } from 'biflow';
 *
 * const { train, validation, test } = splitTable({ data: toyData('rings', 1000), rows: 1000, dim: 2 }, { seed: 1 });
 * [train.rows, validation.rows, test.rows];   // [810, 90, 100]
 * ```
 */
export function splitTable(table: Table, { validation = 0.1, test = 0.1, seed = 0 }: { validation?: number; test?: number; seed?: number } = {}): Splits {
  const fn = 'splitTable';
  if (!(test > 0 && test < 1)) throw new InvalidArgumentError(fn, 'test', test, 'must be a fraction in (0, 1), got {value}.');
  if (!(validation > 0 && validation < 1)) throw new InvalidArgumentError(fn, 'validation', validation, 'must be a fraction in (0, 1), got {value}.');
  const { rows, dim } = table;
  const sizes = splitSizes(rows, validation, test);
  if (!splittable(sizes)) {
    throw new InvalidArgumentError(fn, 'table.rows', rows, `is too few rows to split into train (≥ 2), validation (≥ 1) and test (≥ 1), got {value}. Give at least ${minSplitRows({ validation, test })} rows.`);
  }
  const { nTrain, nVal, nTest } = sizes;
  const data = shuffleRows(table.data.slice(), dim, rng(`tabular-split:${seed}`));
  const part = (a: number, n: number): Table => ({ data: data.slice(a * dim, (a + n) * dim), rows: n, dim });
  return { train: part(0, nTrain), validation: part(nTrain, nVal), test: part(nTrain + nVal, nTest) };
}

/** Checks that the three splits share one width, the named set's width where it has one. */
export function checkSplits(name: TabularName, splits: Splits, files: Record<keyof Splits, string>, fn = 'loadTabular'): void {
  const want = TABULAR_DATASETS[name] || splits.train.dim;
  for (const key of ['train', 'validation', 'test'] as const) {
    const t = splits[key];
    if (t.dim !== want) {
      const what = TABULAR_DATASETS[name] ? `${name.toUpperCase()} has ${want} columns` : `the train split has ${want}`;
      throw new DataFileError(files[key], `has ${t.dim} columns but ${what}`, `Give the ${key} split of ${name.toUpperCase()} as preprocessed by MAF (see the README), or use 'tabular:DIR' for other data.`, fn);
    }
    requireRows(t, files[key], 1, `It is the ${key} split, which needs rows.`, fn);
  }
}
