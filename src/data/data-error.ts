/** The typed error of every data-file reader (it names the file, the row and a fix), and the checks they share. */
import { BiflowError } from '../errors.js';

/** A data file is missing, unreadable or malformed (`file` names it; the message names the row). */
export class DataFileError extends BiflowError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
    /** The public function that read the file. */
    readonly fn = 'loadDataFile',
  ) {
    super(`${fn}: ${file}: ${problem}. ${fix}`);
  }
}

/** A row-major `[rows, dim]` table of float32 values. */
export interface Table {
  data: Float32Array;
  rows: number;
  dim: number;
  /** The column names of a CSV header line, when the file has one. */
  columns?: string[];
}

/** The largest finite float32: rows are stored as float32, so larger values would become ±Inf. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Refuses a table with fewer than `need` rows, before any training: `why` says what the rows are
 * for (full sentence), e.g. that a test row is held out.
 */
export function requireRows(table: Table, file: string, need: number, why: string, fn: string): void {
  if (table.rows < need) throw new DataFileError(file, `has ${table.rows} data row${table.rows === 1 ? '' : 's'}`, `${why} Give at least ${need}.`, fn);
}
