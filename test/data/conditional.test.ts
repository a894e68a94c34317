/** Conditional datasets: x and c drawn as whole rows (paired), files split by context columns, and the training loop feeding (x, c). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionalDataset, createFlow, DataFileError, InvalidArgumentError, loadDataset, tf, train, useBackend } from '../../src/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-conditional-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Row r: x = (r, 10r), c = (−r): every drawn row shows whether x and c stayed paired.
const n = 50;
const x = { data: Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? k / 2 : 5 * k - 5)), rows: n, dim: 2 };
const c = { data: Float32Array.from({ length: n }, (_, r) => -r), rows: n, dim: 1 };

describe('conditional datasets', () => {
  it('draws x and its context as whole rows, in batches and in the test split, reproducibly', () => {
    const d = conditionalDataset('paired', x, c, { seed: 4 });
    expect([d.dim, d.context!.dim]).toEqual([2, 1]);
    const [bx, bc] = [d.batch(3, 40), d.context!.batch(3, 40)];
    for (let k = 0; k < 40; k++) {
      expect(bx[2 * k + 1]).toBe(10 * bx[2 * k]!);
      expect(bc[k]).toBe(-bx[2 * k]!);
    }
    expect(Array.from(d.batch(3, 40))).toEqual(Array.from(bx));
    expect(d.test.length / 2).toBe(5);
    Array.from(d.context!.test).forEach((v, k) => expect(v).toBe(-d.test[2 * k]!));
    // testFraction 0: every row trains, none held out.
    expect(conditionalDataset('all', x, c, { testFraction: 0 }).test.length).toBe(0);
    expect(() => conditionalDataset('bad', x, { ...c, rows: 49, data: c.data.subarray(1) })).toThrow(InvalidArgumentError);
  });

  it('loads a file with context columns by header name or index, x the other columns, still paired', () => {
    const file = path.join(root, 'sims.csv');
    writeFileSync(file, `a,cx,b\n${Array.from({ length: n }, (_, r) => `${r},${-r},${10 * r}`).join('\n')}\n`);
    for (const context of [['cx'], [1], ['1']]) {
      const d = loadDataset(file, { seed: 1, context });
      expect(d.dim).toBe(2);
      expect(d.context!.names).toEqual(['cx']);
      const [bx, bc] = [d.batch(0, 30), d.context!.batch(0, 30)];
      for (let k = 0; k < 30; k++) {
        expect(bx[2 * k + 1]).toBe(10 * bx[2 * k]!);
        expect(bc[k]).toBe(-bx[2 * k]!);
      }
    }
    // Without a context the file is what it was: three columns, the same split and batches as before.
    expect(loadDataset(file, { seed: 1 }).dim).toBe(3);
    expect(() => loadDataset(file, { context: ['nope'] })).toThrow(DataFileError);
    expect(() => loadDataset(file, { context: ['cx', 1] })).toThrow(/names a context column twice/);
    expect(() => loadDataset(file, { context: ['a', 'cx', 'b'] })).toThrow(/every column as context/);
    expect(() => loadDataset('moons', { context: ['x'] })).toThrow(/context names columns of a \.csv\/\.npy file/);
  });

  it('train fits q(x | c) from (x, c) batches: the validation NLL (with its contexts) falls well below the unconditional one', async () => {
    // x = c + 0.1·noise: knowing c makes x nearly certain (NLL ≈ log(0.1·√(2πe)) ≈ −0.88 per dimension).
    const m = 600;
    const cs = tf.tidy(() => tf.randomUniform([m, 2], -2, 2, 'float32', 3).dataSync() as Float32Array);
    const noise = tf.tidy(() => tf.randomNormal([m, 2], 0, 0.1, 'float32', 4).dataSync() as Float32Array);
    const xs = cs.map((v, k) => v + noise[k]!);
    const d = conditionalDataset('near', { data: xs, rows: m, dim: 2 }, { data: cs, rows: m, dim: 2 }, { seed: 2 });
    const flow = createFlow({ type: 'realnvp', dim: 2, contextDim: 2, layers: 4, hidden: [16], seed: 1 });
    const before = tf.memory().numTensors;
    const r = await train(flow, d, { iters: 150, batch: 64, lr: 1e-2, progress: 'none', validation: d.test, validationContext: d.context!.test, evalEvery: 150 });
    expect(tf.memory().numTensors).toBe(before);
    // Unconditional, x ~ U[−2, 2]² has NLL 2·log 4 ≈ 2.77; conditioned, far lower.
    expect(r.evaluations.at(-1)!.validationNll).toBeLessThan(0.5);
    await expect(train(flow, d, { iters: 1, validation: d.test })).rejects.toThrow(/validationContext must hold the 2 context values of each of the 60 validation rows/);
    flow.dispose();
  });
});
