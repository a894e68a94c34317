import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DataFileError, encodeNpy, loadDataset, loadTabular, parseNpy, splitTable, standardization } from '../../src/data/index.js';
import type { TabularDataset } from '../../src/data/index.js';
import { rng } from '../../src/data/random.js';
import { npy, npy2d } from './npy-file.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'biflow-tabular-'));

/** rows × dim values with column d ~ N(μ_d = d − 2, σ_d = 0.5 + d). */
function gaussianRows(rows: number, dim: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: rows * dim }, (_, k) => (k % dim) - 2 + (0.5 + (k % dim)) * r.normal());
}

/** Mean NLL of row-major rows under N(0, I). */
function standardNormalNll(rows: Float32Array, dim: number): number {
  let s = 0;
  for (const v of rows) s += 0.5 * v * v;
  return s / (rows.length / dim) + 0.5 * dim * Math.log(2 * Math.PI);
}

describe('tabular benchmark folders', () => {
  it('reads train/validation/test .npy, standardises all three with the training statistics only', () => {
    const dir = tmp();
    const [train, val, test] = [gaussianRows(400, 6, 1), gaussianRows(50, 6, 2), gaussianRows(60, 6, 3)];
    writeFileSync(path.join(dir, 'train.npy'), npy2d(train, 400, 6));
    writeFileSync(path.join(dir, 'validation.npy'), npy2d(val, 50, 6));
    writeFileSync(path.join(dir, 'test.npy'), npy2d(test, 60, 6));
    const ds = loadDataset(`power:${dir}`) as TabularDataset;
    expect(ds.dim).toBe(6);
    expect([ds.train.length, ds.validation.length, ds.test.length]).toEqual([2400, 300, 360]);
    for (let d = 0; d < 6; d++) {
      const col = Array.from({ length: 400 }, (_, r) => ds.train[r * 6 + d]!);
      const m = col.reduce((a, b) => a + b, 0) / 400;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / 399)).toBeCloseTo(1, 5);
    }
    // The test rows use the training split's μ and σ, computed here by hand.
    const mu = Array.from({ length: 6 }, (_, d) => train.filter((_, k) => k % 6 === d).reduce((a, b) => a + b, 0) / 400);
    const sd = mu.map((m, d) => Math.sqrt(train.filter((_, k) => k % 6 === d).reduce((a, b) => a + (b - m) ** 2, 0) / 399));
    expect(ds.test[5 * 6 + 3]).toBeCloseTo((test[5 * 6 + 3]! - mu[3]!) / sd[3]!, 5);
    expect(ds.nllOffset).toBeCloseTo(sd.reduce((a, s) => a + Math.log(s), 0), 6);
    expect(Array.from(ds.batch(3, 8))).toEqual(Array.from(loadDataset(`power:${dir}`).batch(3, 8)));
  });

  it('NLL of standardised rows plus nllOffset is the NLL of the raw rows under the matching Gaussian', () => {
    const dir = tmp();
    const [train, test] = [gaussianRows(300, 4, 4), gaussianRows(80, 4, 5)];
    writeFileSync(path.join(dir, 'train.csv'), train.reduce((s, v, k) => s + v + (k % 4 === 3 ? '\n' : ','), 'a,b,c,d\n'));
    writeFileSync(path.join(dir, 'val.csv'), test.slice(0, 40).reduce((s, v, k) => s + v + (k % 4 === 3 ? '\n' : ','), ''));
    writeFileSync(path.join(dir, 'test.csv'), test.reduce((s, v, k) => s + v + (k % 4 === 3 ? '\n' : ','), ''));
    const ds = loadTabular('tabular', dir);
    const { mean, std } = ds.standardization;
    let raw = 0;
    for (let k = 0; k < test.length; k++) {
      const d = k % 4;
      raw += 0.5 * ((test[k]! - mean[d]!) / std[d]!) ** 2 + Math.log(std[d]!) + 0.5 * Math.log(2 * Math.PI);
    }
    expect(standardNormalNll(ds.test, 4) + ds.nllOffset!).toBeCloseTo(raw / 80, 4);
  });

  it('reads an .npz of train, val, test (a Fortran-ordered member included) and a single file split 80/10/10', () => {
    const dir = tmp();
    const rows = gaussianRows(30, 8, 6);
    const fortran = Array.from({ length: 30 * 8 }, (_, k) => rows[(k % 30) * 8 + Math.floor(k / 30)]!);
    writeFileSync(path.join(dir, 'gas.npz'), zipSync({
      'train.npy': new Uint8Array(npy2d(gaussianRows(100, 8, 7), 100, 8)),
      'val.npy': new Uint8Array(npy2d(rows, 30, 8)),
      'test.npy': new Uint8Array(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (30, 8), }", fortran, true)),
    }));
    const ds = loadTabular('gas', dir);
    expect(Array.from(ds.test)).toEqual(Array.from(ds.validation));
    const single = tmp();
    const table = { data: Float32Array.from({ length: 200 * 3 }, (_, k) => k), rows: 200, dim: 3 };
    writeFileSync(path.join(single, 'data.npy'), encodeNpy(table));
    const a = loadTabular('tabular', single, { seed: 2 });
    expect([a.train.length / 3, a.validation.length / 3, a.test.length / 3]).toEqual([162, 18, 20]);
    const parts = splitTable(table, { seed: 2 });
    const firsts = [parts.train, parts.validation, parts.test].flatMap((t) => Array.from({ length: t.rows }, (_, r) => t.data[r * 3]!));
    expect(firsts.sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, r) => 3 * r));
    expect(Array.from(splitTable(table, { seed: 3 }).test.data)).not.toEqual(Array.from(parts.test.data));
  });

  it('names the file and row of NaN/Inf values, ragged lines, wrong widths and missing arrays', () => {
    const dir = tmp();
    const good = npy2d(gaussianRows(20, 6, 8), 20, 6);
    const nan = gaussianRows(20, 6, 9);
    nan[13 * 6 + 2] = Number.POSITIVE_INFINITY;
    writeFileSync(path.join(dir, 'train.npy'), good);
    writeFileSync(path.join(dir, 'validation.npy'), npy2d(nan, 20, 6));
    writeFileSync(path.join(dir, 'test.npy'), npy2d(gaussianRows(20, 5, 10), 20, 5));
    expect(() => loadTabular('power', dir)).toThrow(/loadTabular: .*validation\.npy: row 14, column 3 \(counting from 1\) is Infinity/);
    writeFileSync(path.join(dir, 'validation.npy'), good);
    expect(() => loadTabular('power', dir)).toThrow(/test\.npy: has 5 columns but POWER has 6 columns/);
    expect(() => loadTabular('hepmass', dir)).toThrow(DataFileError);
    const csv = tmp();
    writeFileSync(path.join(csv, 'data.csv'), '1,2\n3,4\n5,6,7\n');
    expect(() => loadTabular('tabular', csv)).toThrow(/data\.csv: line 3 has 3 values where the first row has 2/);
    const npz = tmp();
    writeFileSync(path.join(npz, 'data.npz'), zipSync({ 'train.npy': new Uint8Array(good), 'test.npy': new Uint8Array(good) }));
    expect(() => loadTabular('power', npz)).toThrow(/data\.npz: holds no array named validation or val \(it holds train, test\)/);
    expect(() => loadTabular('power', tmp())).toThrow(/holds none of train\/validation\/test/);
    expect(() => loadDataset('spiralz:/x')).toThrow(/NAME:DIR, NAME one of power, gas/);
  });

  it('σ is the sample standard deviation, a constant column keeps σ = 1, and encodeNpy round-trips', () => {
    const table = { data: Float32Array.from([1, 5, 2, 5, 6, 5]), rows: 3, dim: 2 };
    const s = standardization(table);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(7), 12); // ((1−3)² + (2−3)² + (6−3)²)/2 = 7
    expect(s.std[1]).toBe(1);
    expect(Array.from(s.mean)).toEqual([3, 5]);
    expect(s.logScale).toBeCloseTo(0.5 * Math.log(7), 12);
    expect(Array.from(parseNpy('x.npy', encodeNpy(table)).data)).toEqual([1, 5, 2, 5, 6, 5]);
  });

  it('biflow train --data tabular:DIR reports the test NLL in data units and on the standardised rows', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'data.npy'), npy2d(gaussianRows(200, 3, 11).map((v) => 10 * v), 200, 3));
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await main(['train', '--data', `tabular:${dir}`, '--model', 'realnvp', '--iters', '3', '--batch', '32', '--hidden', '8', '--layers', '2', '--out', path.join(dir, 'run'), '--backend', 'cpu', '--json'], (s) => lines.push(s));
    spy.mockRestore();
    expect(code).toBe(0);
    const out = JSON.parse(lines.at(-1)!) as { testNll: number; testNllStandardized: number };
    const offset = (loadDataset(`tabular:${dir}`) as TabularDataset).nllOffset!;
    expect(offset).toBeGreaterThan(3 * Math.log(10));
    expect(out.testNll - out.testNllStandardized).toBeCloseTo(offset, 4);
  });
});
