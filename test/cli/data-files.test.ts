/** `biflow train` on a data file it cannot train on: a DataFileError before anything is written. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tf } from '../../src/backend/engine.js';
import { run } from './run-cli.js';
import { npy } from '../data/npy-file.js';

afterEach(() => vi.restoreAllMocks());

describe('biflow train on an unusable data file', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['header-only.csv', 'x,y\n', /^loadDataset: .*header-only\.csv: has 0 data rows\. .*Give at least 2\.$/],
    ['one-row.csv', 'x,y\n1,2\n', /one-row\.csv: has 1 data row\. /],
    ['empty.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }", []), /empty\.npy: has 0 data rows\. /],
    ['nan-first.csv', 'nan,1\n2,3\n4,5\n', /^loadDataFile: .*nan-first\.csv: line 1, column 1 is "nan", not a finite number\./],
    ['hex.csv', '1,2\n0x10,3\n4,5\n', /hex\.csv: line 2, column 1 is "0x10", not a decimal number\./],
    ['crafted.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }", [1, 2]), /crafted\.npy: has shape \(-1, 2\), not a tuple of non-negative integers/],
  ];
  it.each(cases)('%s: exit 1 with the DataFileError, nothing at --out, no tensor left', async (name, content, message) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-data-'));
    writeFileSync(path.join(dir, name), content);
    const out = path.join(dir, 'run');
    const before = tf.memory().numTensors;
    const { code, lines } = await run(['train', '--data', path.join(dir, name), '--model', 'realnvp', '--iters', '3', '--batch', '8', '--hidden', '8', '--layers', '2', '--out', out, '--backend', 'cpu', '--json']);
    expect(code).toBe(1);
    expect(lines).toEqual([]);
    // run() silences stderr with a spy; what the CLI wrote is in its calls.
    const stderr = vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0])).join('');
    expect(stderr.trim()).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });
});
