/**
 * A dataset for training: fresh seeded batches, and a fixed held-out test set. Toy densities are
 * sampled anew for every batch (as FFJORD does); files are split 90/10 by a seeded shuffle (at
 * least one test and one training row, so a file needs 2 rows).
 */
import { InvalidArgumentError } from '../errors.js';
import { requireRows } from './data-error.js';
import { loadDataFile } from './files.js';
import { TABULAR_DATASETS } from './tabular.js';
import type { TabularName } from './tabular.js';
import { loadTabular } from './tabular-files.js';
import { TOY_DATASETS, toyData } from './toy.js';
import { contextColumns, rowsDataset } from './conditional.js';

/** A dataset as the trainer and evaluators see it: seeded training batches and held-out rows. */
export interface Dataset {
  name: string;
  dim: number;
  /** Training batch number `i` of `size` rows (deterministic in the seed and i). */
  batch(i: number, size: number): Float32Array;
  /** Held-out rows. */
  test: Float32Array;
  /**
   * Nats to add to a mean NLL of these rows to get the NLL of the data in its own units (Σ log σ
   * of a standardisation the loader applied; absent or 0 when the rows are the data as given).
   */
  nllOffset?: number;
  /**
   * A conditional dataset's context part: the rows c that go with the data rows, batch for batch
   * (row r of `context.batch(i, n)` belongs to row r of `batch(i, n)`, and the same for `test`).
   */
  context?: DatasetContext;
}

/** The context part of a {@link Dataset}: its width, batches aligned with the data's, held-out rows, and column names if known. */
export interface DatasetContext {
  dim: number;
  /** The context rows of training batch `i` (row r goes with row r of the data's batch i). */
  batch(i: number, size: number): Float32Array;
  test: Float32Array;
  names?: string[];
}

/**
 * A toy name (`8gaussians`, …), a path to a .csv / .npy file, or a tabular benchmark folder as
 * `power:DIR`, `gas:DIR`, `hepmass:DIR`, `miniboone:DIR`, `bsds300:DIR` or `tabular:DIR` (see
 * {@link loadTabular}: standardised rows, `nllOffset` = Σ log σ).
 *
 * @example
 * ```ts
 * import { loadDataset } from 'biflow';
 *
 * const data = loadDataset('moons', { seed: 1 });   // or 'rows.csv', 'rows.npy', 'power:data/power/'
 * data.batch(0, 256);   // the first training batch, row-major [256, 2]
 * data.test.length / data.dim;   // held-out rows
 * ```
 */
export function loadDataset(spec: string, { seed = 0, testSize = 5000, context }: { seed?: number; testSize?: number; context?: readonly (string | number)[] } = {}): Dataset {
  if (context !== undefined && !/\.(csv|npy|txt)$/.test(spec)) {
    throw new InvalidArgumentError('loadDataset', 'context', context, `names columns of a .csv/.npy file, got {value} for ${JSON.stringify(spec)}, which is not one.`);
  }
  if ((TOY_DATASETS as readonly string[]).includes(spec)) {
    return {
      name: spec,
      dim: 2,
      batch: (i, size) => toyData(spec, size, seed * 1_000_003 + i + 1),
      test: toyData(spec, testSize, -1 - seed),
    };
  }
  const tab = /^([a-z0-9]+):(.+)$/.exec(spec);
  if (tab && Object.hasOwn(TABULAR_DATASETS, tab[1]!)) return loadTabular(tab[1] as TabularName, tab[2]!, { seed });
  if (!/\.(csv|npy|txt)$/.test(spec)) {
    throw new InvalidArgumentError('loadDataset', 'data', spec, `is neither a toy dataset (${TOY_DATASETS.join(', ')}) nor a .csv/.npy file, got {value}. For a tabular benchmark folder write NAME:DIR, NAME one of ${Object.keys(TABULAR_DATASETS).join(', ')}.`);
  }
  const table = loadDataFile(spec);
  // A 1-row file would leave no training row, and batches drawn from none are all zeros.
  requireRows(table, spec, 2, 'loadDataset holds out 10% of a file\'s rows (at least 1) as the test set and trains on the rest.', 'loadDataset');
  if (context === undefined) return rowsDataset(spec, table, seed, 0);
  const { joined, names } = contextColumns(table, context, spec);
  const data = rowsDataset(spec, joined, seed, context.length);
  return { ...data, context: { ...data.context!, names } };
}
