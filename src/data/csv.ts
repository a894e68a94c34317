/**
 * CSV of numbers (comma-separated, one sample per line, an optional header line) → a Table.
 * Pure: no file system, so it also serves browsers. A hand-written reader rather than csv-parse:
 * every bad cell must be reported with its line and column, and numbers follow one strict grammar.
 *
 * Quoting follows RFC 4180: a cell may be wrapped in double quotes (`"1.5"`, as pandas writes with
 * `quoting=csv.QUOTE_ALL`), `""` inside quotes is one quote, and a quoted cell may span lines.
 * Spaces and tabs around a cell (quoted or not) are ignored; blank lines are skipped.
 *
 * Numbers are decimal floats as numpy.loadtxt and pandas read them: `1`, `-2.5`, `.5`, `1.`, `+1`,
 * `1e-3`. `nan`, `inf` and `infinity` (any case, signed) are read as numbers and then refused as
 * non-finite. Hexadecimal (`0x10`), binary, octal, digit separators (`1_000`), a bare exponent (`1e`)
 * and single-quoted cells are not numbers (JavaScript's `Number` would read several of them).
 *
 * The first line is a header when one of its cells is a name: not empty, not a number or a number
 * word, and not starting like a number (so `nan,1`, `0x10,1` or `'1',2` is a bad data row, never a
 * header that silently drops a sample).
 */
import { DataFileError, FLOAT32_MAX } from './data-error.js';
import type { Table } from './data-error.js';

/** A decimal float: sign, digits with an optional point (or a point and digits), optional exponent. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** The words numpy and pandas read as non-finite floats. */
const NUMBER_WORD = /^[+-]?(?:nan|inf|infinity)$/i;
/** A cell that starts like a number (a digit after an optional quote, signs, point) is no column name. */
const NUMBER_LIKE = /^'?[+-]*\.?\d/;

/** One record of a CSV: its cells (unquoted and trimmed) and the line it starts on (from 1). */
interface CsvRecord {
  line: number;
  cells: string[];
}

type Bad = (problem: string, fix: string) => DataFileError;

const isBlank = (c: number) => c === 32 || c === 9; // space, tab
const isEol = (c: number) => c === 10 || c === 13; // \n, \r

/** Splits text into records by RFC 4180 (double-quoted cells, `""` escapes); blank lines skipped. */
function* records(text: string, bad: Bad): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const cells: string[] = [];
    let quotedAny = false;
    for (;;) {
      while (i < n && isBlank(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 34) {
        // A quoted cell: up to the quote that is not doubled; it may hold commas and line breaks.
        quotedAny = true;
        let cell = '';
        let from = ++i;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw bad(`line ${start}, column ${cells.length + 1} opens a quote that is never closed`, 'Close every quoted cell with a double quote; write a quote inside one as "".');
          for (let k = i; k < q; k++) if (text.charCodeAt(k) === 10) line++;
          if (text.charCodeAt(q + 1) === 34) {
            cell += text.slice(from, q + 1);
            i = from = q + 2;
            continue;
          }
          cell += text.slice(from, q);
          i = q + 1;
          break;
        }
        while (i < n && isBlank(text.charCodeAt(i))) i++;
        if (i < n && text.charCodeAt(i) !== 44 && !isEol(text.charCodeAt(i))) {
          throw bad(`line ${line}, column ${cells.length + 1} has text after its closing quote`, 'Quote the whole cell, e.g. "1.5", or none of it.');
        }
        cells.push(cell.trim());
      } else {
        let j = i;
        while (j < n && text.charCodeAt(j) !== 44 && !isEol(text.charCodeAt(j))) j++;
        cells.push(text.slice(i, j).trim());
        i = j;
      }
      if (i < n && text.charCodeAt(i) === 44) {
        i++;
        continue;
      }
      // End of the record: \r\n, \n, \r or the end of the text.
      if (text.charCodeAt(i) === 13) i++;
      if (text.charCodeAt(i) === 10) i++;
      line++;
      break;
    }
    if (cells.length === 1 && cells[0] === '' && !quotedAny) continue;
    yield { line: start, cells };
  }
}

/** Whether a first-line cell is a column name (so that line is a header). */
const isName = (c: string) => c !== '' && !NUMBER_WORD.test(c) && !NUMBER_LIKE.test(c); // NUMBER_LIKE covers every DECIMAL

/** The value of one data cell, or a DataFileError naming its line and column. */
function cellValue(c: string, line: number, column: number, bad: Bad): number {
  const at = `line ${line}, column ${column}`;
  const nonFinite = 'Remove or fix rows with NaN, Inf or empty cells.';
  if (c === '') throw bad(`${at} is empty, not a finite number`, nonFinite);
  if (NUMBER_WORD.test(c)) throw bad(`${at} is ${JSON.stringify(c)}, not a finite number`, nonFinite);
  if (!DECIMAL.test(c)) {
    throw bad(`${at} is ${JSON.stringify(c)}, not a decimal number`, 'Write plain decimal numbers such as 16, -0.5 or 1e-3 (hexadecimal, binary, octal, digit separators and single quotes are not read); a header line needs a cell that is a name.');
  }
  const v = Number(c);
  if (!(Math.abs(v) <= FLOAT32_MAX)) throw bad(`${at} is ${c}, beyond float32's range (±3.4e38)`, 'Rescale that column; rows are stored as float32.');
  return v;
}

/**
 * Parses CSV text into a row-major table; `file` names the source in errors, `fn` the caller.
 *
 * @example
 * ```ts
 * import { parseCsv } from 'biflow';
 *
 * const t = parseCsv('inline.csv', 'x,y\n1,2\n-.5,1e-3\n');
 * [t.rows, t.dim];   // [2, 2]: the header line is skipped
 * t.data;            // Float32Array [1, 2, −0.5, 0.001]
 * ```
 */
export function parseCsv(file: string, text: string, fn = 'loadDataFile'): Table {
  const bad: Bad = (problem, fix) => new DataFileError(file, problem, fix, fn);
  const values: number[] = [];
  let dim = -1;
  let header = false;
  let columns: string[] | undefined;
  let rows = 0;
  for (const { line, cells } of records(text, bad)) {
    if (dim < 0) {
      dim = cells.length;
      header = cells.some(isName);
      if (header) {
        columns = cells;
        continue;
      }
    }
    if (cells.length !== dim) throw bad(`line ${line} has ${cells.length} values where the ${header ? 'header' : 'first row'} has ${dim}`, 'Make every row the same length.');
    for (let j = 0; j < dim; j++) values.push(cellValue(cells[j]!, line, j + 1, bad));
    rows++;
  }
  if (dim < 0) throw new DataFileError(file, 'is empty', 'Give one sample per line, comma-separated.', fn);
  return { data: Float32Array.from(values), rows, dim, ...(columns ? { columns } : {}) };
}
