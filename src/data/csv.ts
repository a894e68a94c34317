/**
 * CSV of numbers (comma-separated, one sample per line, an optional header line) → a Table.
 * Pure: no file system, so it also serves browsers. A hand-written reader rather than csv-parse:
 * numeric tables need no quoting rules, and every bad cell must be reported with its line and column.
 */
import { DataFileError } from './data-error.js';
import type { Table } from './data-error.js';

/** Parses CSV text into a row-major table; `file` names the source in errors, `fn` the caller. */
export function parseCsv(file: string, text: string, fn = 'loadDataFile'): Table {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new DataFileError(file, 'is empty', 'Give one sample per line, comma-separated.', fn);
  const cells = (l: string) => l.split(',').map((c) => c.trim());
  const first = cells(lines[0]!);
  const header = first.some((c) => c !== '' && Number.isNaN(Number(c)));
  const body = header ? lines.slice(1) : lines;
  const dim = header ? first.length : cells(body[0] ?? '').length;
  const data = new Float32Array(body.length * dim);
  body.forEach((line, r) => {
    const row = cells(line);
    const lineNo = r + 1 + (header ? 1 : 0);
    if (row.length !== dim) throw new DataFileError(file, `line ${lineNo} has ${row.length} values where the first row has ${dim}`, 'Make every row the same length.', fn);
    row.forEach((c, j) => {
      const v = Number(c);
      if (c === '' || !Number.isFinite(v)) throw new DataFileError(file, `line ${lineNo}, column ${j + 1} is ${JSON.stringify(c)}, not a finite number`, 'Remove or fix rows with NaN, Inf or empty cells.', fn);
      data[r * dim + j] = v;
    });
  });
  return { data, rows: body.length, dim };
}
