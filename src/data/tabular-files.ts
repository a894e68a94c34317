/**
 * Reads a tabular benchmark's folder (Node) and builds its Dataset: training batches, validation
 * and test rows, all standardised with the training split's statistics.
 *
 * A folder holds one of (first match wins):
 *   train.npy, validation.npy (or val.npy), test.npy   — or the same three as .csv
 *   data.npz / NAME.npz with arrays train, validation (or val), test (numpy.savez)
 *   data.npy / data.csv — one table, split 80/10/10 by a seeded shuffle
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from './csv.js';
import { DataFileError, requireRows } from './data-error.js';
import type { Table } from './data-error.js';
import type { Dataset } from './dataset.js';
import { readBytes } from './files.js';
import { parseNpy, parseNpz } from './npy.js';
import { rng } from './random.js';
import { checkSplits, minSplitRows, splitTable, standardization, standardize } from './tabular.js';
import type { Splits, Standardization, TabularName } from './tabular.js';

const FN = 'loadTabular';

/** A tabular benchmark: standardised splits, and the statistics that map NLLs back to data units. */
export interface TabularDataset extends Dataset {
  train: Float32Array;
  validation: Float32Array;
  standardization: Standardization;
}

function readTable(file: string): Table {
  const bytes = readBytes(file, FN);
  return file.endsWith('.npy') ? parseNpy(file, bytes, FN) : parseCsv(file, new TextDecoder().decode(bytes), FN);
}

function readSplits(name: TabularName, dir: string, seed: number): { splits: Splits; files: Record<keyof Splits, string> } {
  const at = (f: string) => path.join(dir, f);
  for (const ext of ['npy', 'csv']) {
    const val = [`validation.${ext}`, `val.${ext}`].map(at).find(existsSync);
    if (existsSync(at(`train.${ext}`)) && val && existsSync(at(`test.${ext}`))) {
      const files = { train: at(`train.${ext}`), validation: val, test: at(`test.${ext}`) };
      return { splits: { train: readTable(files.train), validation: readTable(files.validation), test: readTable(files.test) }, files };
    }
  }
  const npz = [`${name}.npz`, 'data.npz'].map(at).find(existsSync);
  if (npz) {
    const arrays = parseNpz(npz, readBytes(npz, FN), FN);
    const pick = (keys: string[]) => {
      const k = keys.find((key) => arrays[key]);
      if (!k) throw new DataFileError(npz, `holds no array named ${keys.join(' or ')} (it holds ${Object.keys(arrays).join(', ') || 'none'})`, 'Save it with numpy.savez(path, train=..., validation=..., test=...).', FN);
      return arrays[k]!;
    };
    return { splits: { train: pick(['train']), validation: pick(['validation', 'val']), test: pick(['test']) }, files: { train: `${npz}[train]`, validation: `${npz}[validation]`, test: `${npz}[test]` } };
  }
  const single = ['data.npy', 'data.csv'].map(at).find(existsSync);
  if (single) {
    const table = readTable(single);
    requireRows(table, single, minSplitRows(), 'A single data file is split 80/10/10 into training (≥ 2 rows), validation and test rows (≥ 1 each).', FN);
    return { splits: splitTable(table, { seed }), files: { train: single, validation: single, test: single } };
  }
  throw new DataFileError(dir, 'holds none of train/validation/test .npy or .csv, data.npz, data.npy, data.csv', `Convert the ${name.toUpperCase()} files once as the README's "Tabular data" section shows.`, FN);
}

/**
 * Loads `dir` as the tabular set `name` (power, gas, hepmass, miniboone, bsds300; `tabular` for any
 * width). Rows are standardised with the training split's mean and σ; an NLL computed on these rows
 * plus `standardization.logScale` is the NLL of the data in its own units.
 *
 * @example
 * ```ts
 * import { mkdirSync, writeFileSync } from 'node:fs';
 * import { encodeNpy, loadTabular, toyData } from 'biflow';
 *
 * mkdirSync('rows', { recursive: true });
 * writeFileSync('rows/data.npy', encodeNpy({ data: toyData('moons', 2000), rows: 2000, dim: 2 }));
 * const ds = loadTabular('tabular', 'rows', { seed: 0 });   // split 80/10/10, standardised
 * [ds.dim, ds.standardization.logScale, ds.nllOffset];
 * ```
 */
export function loadTabular(name: TabularName, dir: string, { seed = 0 }: { seed?: number } = {}): TabularDataset {
  const { splits, files } = readSplits(name, dir, seed);
  checkSplits(name, splits, files, FN);
  const s = standardization(splits.train);
  const train = standardize(splits.train, s);
  const dim = train.dim;
  return {
    name: `${name}:${dir}`,
    dim,
    train: train.data,
    validation: standardize(splits.validation, s).data,
    test: standardize(splits.test, s).data,
    standardization: s,
    nllOffset: s.logScale,
    batch: (i, size) => {
      const r = rng(`batch:${seed}:${i}`);
      const out = new Float32Array(size * dim);
      for (let k = 0; k < size; k++) {
        const row = r.int(train.rows);
        out.set(train.data.subarray(row * dim, (row + 1) * dim), k * dim);
      }
      return out;
    },
  };
}
