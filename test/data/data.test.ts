import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFileError, TOY_DATASETS, loadDataFile, loadDataset, toyData } from '../../src/data/index.js';
import { npy } from './npy-file.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'biflow-data-'));

describe('toy datasets', () => {
  it.each(TOY_DATASETS)('%s: n finite 2-D points, the same for the same seed, different for another', (name) => {
    const a = toyData(name, 400, 1);
    expect(a).toHaveLength(800);
    expect(Array.from(a).every(Number.isFinite)).toBe(true);
    expect(Array.from(toyData(name, 400, 1))).toEqual(Array.from(a));
    expect(Array.from(toyData(name, 400, 2))).not.toEqual(Array.from(a));
    const maxAbs = Math.max(...Array.from(a, Math.abs));
    expect(maxAbs).toBeLessThan(8);
    expect(maxAbs).toBeGreaterThan(0.5);
  });

  it('8gaussians has its eight modes at radius 4/1.414', () => {
    const d = toyData('8gaussians', 4000, 0);
    let r = 0;
    for (let i = 0; i < 4000; i++) r += Math.hypot(d[2 * i]!, d[2 * i + 1]!);
    expect(r / 4000).toBeCloseTo(4 / 1.414, 1);
  });

  it('checkerboard fills alternate squares of a 4×4 board of side 2', () => {
    const d = toyData('checkerboard', 4000, 0);
    for (let i = 0; i < 4000; i++) {
      const [cx, cy] = [Math.floor(d[2 * i]! / 2), Math.floor(d[2 * i + 1]! / 2)];
      expect(((cx + cy) % 2 + 2) % 2).toBe(0);
    }
  });
});

describe('data files', () => {
  it('reads CSV with a header and splits 90/10 into seeded batches and a test set', () => {
    const file = path.join(tmp(), 'd.csv');
    writeFileSync(file, `a,b,c\n${Array.from({ length: 50 }, (_, i) => `${i},${2 * i},${-i}`).join('\n')}\n`);
    const t = loadDataFile(file);
    expect([t.rows, t.dim]).toEqual([50, 3]);
    const ds = loadDataset(file, { seed: 3 });
    expect(ds.dim).toBe(3);
    expect(ds.test.length).toBe(5 * 3);
    expect(Array.from(ds.batch(7, 4))).toEqual(Array.from(loadDataset(file, { seed: 3 }).batch(7, 4)));
  });

  it('names the row of a NaN cell and of a ragged line', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'nan.csv'), '1,2\n3,NaN\n');
    writeFileSync(path.join(dir, 'ragged.csv'), '1,2\n3,4,5\n');
    expect(() => loadDataFile(path.join(dir, 'nan.csv'))).toThrow(/nan\.csv: line 2, column 2 is "NaN", not a finite number/);
    expect(() => loadDataFile(path.join(dir, 'ragged.csv'))).toThrow(/ragged\.csv: line 2 has 3 values where the first row has 2/);
    expect(() => loadDataFile(path.join(dir, 'none.csv'))).toThrow(DataFileError);
  });

  it('reads float32 and float64 .npy, transposes Fortran order to rows, and refuses wrong ranks', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'a.npy'), npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", [1, 2, 3, 4, 5, 6]));
    writeFileSync(path.join(dir, 'b.npy'), npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", [1, 2, 3, 4], true));
    // numpy.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores its columns one after another.
    writeFileSync(path.join(dir, 'f.npy'), npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", [1, 4, 2, 5, 3, 6]));
    writeFileSync(path.join(dir, 'r.npy'), npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", [1, 2, 3, 4]));
    expect(Array.from(loadDataFile(path.join(dir, 'a.npy')).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(loadDataFile(path.join(dir, 'b.npy')).dim).toBe(2);
    expect(Array.from(loadDataFile(path.join(dir, 'f.npy')).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => loadDataFile(path.join(dir, 'r.npy'))).toThrow(/not \(rows, dim\)/);
  });
});
