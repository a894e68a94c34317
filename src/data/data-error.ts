/** The typed error of every data-file reader: it names the file, the row and a fix. */
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
}
