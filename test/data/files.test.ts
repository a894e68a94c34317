/**
 * Data files read by one strict rule: decimal numbers only, RFC 4180 double quotes, a header
 * recognised by its content, crafted .npy headers refused, and too few rows refused before training.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { DataFileError, loadDataset, loadTabular, parseCsv, parseNpy, splitTable } from '../../src/data/index.js';
import { minSplitRows } from '../../src/data/tabular.js';
import { npy, npy2d } from './npy-file.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'biflow-files-'));
const csv = (text: string) => parseCsv('t.csv', text);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The error parseCsv throws for `text` (it must throw a DataFileError). */
function csvError(text: string): string {
  try {
    csv(text);
  } catch (e) {
    expect(e).toBeInstanceOf(DataFileError);
    return (e as Error).message;
  }
  throw new Error(`parseCsv accepted ${JSON.stringify(text)}`);
}

describe('CSV numbers: a strict decimal-float grammar', () => {
  // What numpy.loadtxt and pandas.read_csv read as floats; each is stored as its float32.
  const decimals = ['1', '-2.5', '.5', '-.5', '+1', '1.', '1e-3', '1E+2', '-7.25e1', '007', '3.4e38'];
  it.each(decimals)('%s is a number on the first line and after it', (cell) => {
    const t = csv(`${cell},0\n1,${cell}\n`);
    expect([t.rows, t.dim]).toEqual([2, 2]);
    expect([t.data[0], t.data[3]]).toEqual([Math.fround(Number(cell)), Math.fround(Number(cell))]);
  });

  // JavaScript's Number reads 0x10 as 16, 0b1 as 1, 0o7 as 7; a bare exponent or 1_000 was a header.
  const notDecimals = ['0x10', '0b1', '0o7', '1_000', '1e', '1e5.5', '--1', "'1'", '1;5', '1 2'];
  it.each(notDecimals)('%s is refused with its line and column, on line 1 too (never a header)', (cell) => {
    expect(csvError(`${cell},1\n2,3\n`)).toMatch(new RegExp(`t\\.csv: line 1, column 1 is "${escape(cell)}", not a decimal number\\. Write plain decimal numbers`));
    expect(csvError(`x,y\n2,3\n4,${cell}\n`)).toMatch(new RegExp(`line 3, column 2 is "${escape(cell)}", not a decimal number`));
  });

  // numpy and pandas read these words as NaN/±Inf: numbers, so never a header, but not finite.
  const words = ['nan', 'NaN', '-nan', 'inf', '-inf', '+INF', 'Infinity', '-infinity'];
  it.each(words)('%s is a non-finite number: on line 1 it names line 1, it is not taken as a header', (cell) => {
    expect(csvError(`${cell},1\n2,3\n`)).toMatch(new RegExp(`line 1, column 1 is "${escape(cell)}", not a finite number\\. Remove or fix rows`));
    expect(csvError(`2,3\n1,${cell}\n`)).toMatch(/line 2, column 2 is .*, not a finite number/);
  });

  it('an empty or blank cell and a float32 overflow are refused, naming the cell', () => {
    expect(csvError(' ,1\n')).toMatch(/line 1, column 1 is empty, not a finite number/);
    expect(csvError('1,2\n3,\n')).toMatch(/line 2, column 2 is empty/);
    expect(csvError('1,2\n1e39,0\n')).toMatch(/line 2, column 1 is 1e39, beyond float32's range/);
  });
});

describe('CSV quoting (RFC 4180) and headers by content', () => {
  it('double-quoted numbers parse (pandas QUOTE_ALL), quoted header names are a header', () => {
    expect(Array.from(csv('"1","2"\n"3",4\n').data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(csv('"x","y"\n"1.5", "-2" \n').data)).toEqual([1.5, -2]);
    const t = csv('"a ""quoted"" name","b, with a comma"\n1,2\n');
    expect([t.rows, t.dim, ...t.data]).toEqual([1, 2, 1, 2]);
  });

  it('a header is a first line with a name in it; a first line of numbers is data', () => {
    expect(csv('x,1\n2,3\n').rows).toBe(1);
    expect(csv('1,2\n3,4\n').rows).toBe(2);
    expect(csv('x,y\n').rows).toBe(0);
    expect(csvError('x,y,z\n1,2\n')).toMatch(/line 2 has 2 values where the header has 3/);
    // A name later than line 1 is a bad cell, not a second header.
    expect(csvError('1,2\nx,y\n')).toMatch(/line 2, column 1 is "x", not a decimal number/);
  });

  it('line numbers are the file\'s own: blank lines, CRLF and quoted line breaks counted', () => {
    expect(csvError('1,2\n\n3,NaN\n')).toMatch(/line 3, column 2 is "NaN"/);
    expect(csvError('1,2\r\n3,4\r\n5,x\r\n')).toMatch(/line 3, column 2 is "x"/);
    expect(csvError('"x\nwith a break",y\n1,2\n3,inf\n')).toMatch(/line 4, column 2 is "inf"/);
    expect(Array.from(csv('1,2\r\n\r\n3,4').data)).toEqual([1, 2, 3, 4]);
  });

  it('an unclosed quote and text after a closing quote are refused', () => {
    expect(csvError('1,2\n"3,4\n')).toMatch(/line 2, column 1 opens a quote that is never closed/);
    expect(csvError('1,2\n"3"4,5\n')).toMatch(/line 2, column 1 has text after its closing quote/);
  });
});

describe('crafted .npy headers: a DataFileError, never a RangeError', () => {
  const header = (shape: string, descr = '<f4') => `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const err = (bytes: Uint8Array): string => {
    try {
      parseNpy('t.npy', bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(DataFileError);
      return (e as Error).message;
    }
    throw new Error('parseNpy accepted a crafted file');
  };
  const file = (shape: string, values: number[], descr?: string) => new Uint8Array(npy(header(shape, descr), values, descr === '<f8'));

  it('refuses negative, fractional, exponent and oversized shape entries', () => {
    for (const shape of ['(-1, 2)', '(2.5, 2)', '(1e3, 2)', '(0, 100000000000000000000000)', '(x, 2)']) {
      expect(err(file(shape, [1, 2]))).toMatch(/has shape \(.*\), not a tuple of non-negative integers/);
    }
    expect(err(file('(1, 2, 3)', [1, 2, 3, 4, 5, 6]))).toMatch(/has shape \(1, 2, 3\), not \(rows, dim\)/);
    expect(err(file('(3, 0)', []))).toMatch(/has shape \(3, 0\): its rows have no columns/);
    // Python 2 wrote sizes as longs.
    expect(Array.from(parseNpy('t.npy', file('(1L, 2L)', [1, 2])).data)).toEqual([1, 2]);
  });

  it('refuses a shape whose rows · dim · width is not the data it holds (huge, truncated, trailing)', () => {
    expect(err(file('(1000000000000, 2)', [1, 2]))).toMatch(/holds 8 bytes of data where its shape \(1000000000000, 2\) of <f4 needs 8000000000000\. The file is truncated/);
    // 2^52 · 2^2 · 4 bytes passes 2^53: counted exactly, not rounded.
    expect(err(file('(4503599627370496, 4)', [1, 2]))).toMatch(/needs 72057594037927936\b/);
    expect(err(file('(3, 2)', [1, 2, 3, 4, 5]))).toMatch(/holds 20 bytes of data where its shape \(3, 2\) of <f4 needs 24/);
    expect(err(file('(0, 2)', [1, 2]))).toMatch(/holds 8 bytes of data where its shape \(0, 2\) of <f4 needs 0\. Its header does not describe its data/);
  });

  it('refuses a header length beyond the file, an unknown format version and a float32 overflow', () => {
    const long = file('(1, 2)', [1, 2]);
    new DataView(long.buffer).setUint16(8, 60000, true);
    expect(err(long)).toMatch(/is truncated: its header length says 60000 bytes but only \d+ follow/);
    const v2 = new Uint8Array(12);
    v2.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    new DataView(v2.buffer).setUint32(8, 0xffffffff, true);
    expect(err(v2)).toMatch(/header length says 4294967295 bytes but only 0 follow/);
    const v4 = file('(1, 2)', [1, 2]);
    v4[6] = 4;
    expect(err(v4)).toMatch(/is \.npy format version 4\.0, not 1\.0–3\.0/);
    expect(err(file('(1, 2)', [1, 1e39], '<f8'))).toMatch(/row 1, column 2 \(counting from 1\) is 1e\+39, beyond float32's range/);
  });
});

describe('too few rows are refused before training', () => {
  it('loadDataset: a header-only CSV, a (0, 2) .npy and a one-row file; two rows train on the one', () => {
    const dir = tmp();
    const at = (name: string, content: string | Buffer) => {
      writeFileSync(path.join(dir, name), content);
      return path.join(dir, name);
    };
    const rule = /has [01] data rows?\. loadDataset holds out 10% of a file's rows \(at least 1\) as the test set and trains on the rest\. Give at least 2\./;
    expect(() => loadDataset(at('header.csv', 'x,y\n'))).toThrow(rule);
    expect(() => loadDataset(at('one.csv', '1,2\n'))).toThrow(rule);
    expect(() => loadDataset(at('empty.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }", [])))).toThrow(rule);
    expect(() => loadDataset(at('one.npy', npy2d([1, 2], 1, 2)))).toThrow(DataFileError);
    const two = loadDataset(at('two.csv', 'x,y\n1,2\n3,4\n'));
    expect(two.test).toHaveLength(2);
    // The batch rows are the one training row (the row not held out), never zeros.
    const trainRow = two.test[0] === 1 ? [3, 4] : [1, 2];
    expect(Array.from(two.batch(0, 3))).toEqual([...trainRow, ...trainRow, ...trainRow]);
  });

  it('splitTable and a single-file tabular folder need minSplitRows() rows: 6 for 80/10/10', () => {
    expect(minSplitRows()).toBe(6);
    // 0.1 % splits: 500 rows give 1 test row and round(499 · 0.001) = 0 validation rows; 501 give 1.
    expect(minSplitRows({ validation: 0.001, test: 0.001 })).toBe(501);
    const table = (rows: number) => ({ data: Float32Array.from({ length: rows * 2 }, (_, k) => k), rows, dim: 2 });
    expect(splitTable(table(6)).train.rows).toBe(4);
    expect(() => splitTable(table(5))).toThrow(/got 5\. Give at least 6 rows/);
    const dir = tmp();
    writeFileSync(path.join(dir, 'data.csv'), '1,2\n3,4\n5,6\n7,8\n9,10\n');
    expect(() => loadTabular('tabular', dir)).toThrow(/loadTabular: .*data\.csv: has 5 data rows\. A single data file is split 80\/10\/10 .* Give at least 6\./);
    writeFileSync(path.join(dir, 'data.csv'), '1,2\n3,4\n5,6\n7,8\n9,10\n11,13\n');
    expect(loadTabular('tabular', dir).train.length).toBe(4 * 2);
  });

  it('a split file or .npz member with no rows names itself', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'train.csv'), '1,2\n3,4\n');
    writeFileSync(path.join(dir, 'val.csv'), '1,2\n');
    writeFileSync(path.join(dir, 'test.csv'), 'x,y\n');
    expect(() => loadTabular('tabular', dir)).toThrow(/test\.csv: has 0 data rows\. It is the test split, which needs rows\. Give at least 1\./);
    const npz = tmp();
    const empty = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2), }", [], true);
    writeFileSync(path.join(npz, 'data.npz'), zipSync({ 'train.npy': new Uint8Array(npy2d([1, 2, 3, 4], 2, 2)), 'val.npy': new Uint8Array(empty), 'test.npy': new Uint8Array(npy2d([1, 2], 1, 2)) }));
    expect(() => loadTabular('tabular', npz)).toThrow(/data\.npz\[validation\]: has 0 data rows\. It is the validation split/);
  });
});
