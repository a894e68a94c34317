/**
 * Datasets from files (Node): CSV (numbers, optional header line) and NumPy `.npy` (float32/float64,
 * C or Fortran order, 2-D). Bad files fail with a typed error that names the file and the row.
 * The parsing itself is pure (csv.ts, npy.ts); this module only reads bytes.
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from './csv.js';
import { DataFileError } from './data-error.js';
import type { Table } from './data-error.js';
import { parseNpy } from './npy.js';

export { DataFileError };
export type { Table };

/** The bytes of a file, or a DataFileError naming it. */
export function readBytes(file: string, fn = 'loadDataFile'): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DataFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'Check the path.', fn);
  }
}

/** Reads a .csv or .npy file into a row-major table. */
export function loadDataFile(file: string): Table {
  if (!/\.(npy|csv|txt)$/.test(file)) throw new DataFileError(file, 'has an unknown extension', 'Use a .csv or .npy file, or a toy dataset name.');
  const bytes = readBytes(file);
  if (file.endsWith('.npy')) return parseNpy(file, bytes);
  return parseCsv(file, new TextDecoder().decode(bytes));
}
