import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, leafBlocks, loadFlow, LULinear, saveFlow, SplineCoupling, tf, useBackend } from '../../src/index.js';
import { maxDiff, values } from '../tensor-helpers.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-mixing-'));
const kinds = (f: ReturnType<typeof createFlow>) => leafBlocks(f.bijector).map((b) => (b instanceof LULinear ? 'lu' : b instanceof SplineCoupling ? 'spline' : b.constructor.name));

describe("createFlow's nsf mixing option", () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("puts an LU linear layer between spline couplings by default and none with mixing: 'none'", () => {
    const [lu, none] = [createFlow({ type: 'nsf', dim: 2, layers: 3 }), createFlow({ type: 'nsf', dim: 2, layers: 3, mixing: 'none' })];
    try {
      expect(kinds(lu)).toEqual(['spline', 'lu', 'spline', 'lu', 'spline']);
      expect(kinds(none)).toEqual(['spline', 'spline', 'spline']);
      // Consecutive couplings transform alternate halves, so every coordinate is transformed.
      const parities = leafBlocks(none.bijector).map((b) => (b as SplineCoupling).getConfig().parity);
      expect(parities).toEqual(['even', 'odd', 'even']);
      expect(lu.config).not.toHaveProperty('mixing');
      expect(none.config).toMatchObject({ mixing: 'none' });
    } finally {
      lu.dispose();
      none.dispose();
    }
  });

  it('keeps mixing through saveFlow / loadFlow (a conditional flow, same log-densities)', async () => {
    const flow = createFlow({ type: 'nsf', dim: 2, layers: 2, mixing: 'none', contextDim: 1, seed: 3 });
    const dir = path.join(root, 'saved');
    try {
      const x = tf.randomNormal([6, 2], 0, 1, 'float32', 1) as tf.Tensor2D;
      const c = tf.randomNormal([6, 1], 0, 1, 'float32', 2) as tf.Tensor2D;
      flow.trainableVariables.forEach((v, i) => v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.3, 'float32', 20 + i))));
      await saveFlow(flow, dir);
      const back = await loadFlow(dir);
      try {
        expect(kinds(back)).toEqual(kinds(flow));
        const [a, b] = [flow.logProb(x, { context: c }), back.logProb(x, { context: c })];
        expect(maxDiff(values(a), values(b))).toBeLessThan(1e-5);
        tf.dispose([a, b]);
      } finally {
        back.dispose();
        tf.dispose([x, c]);
      }
    } finally {
      flow.dispose();
    }
  });

  it('refuses a bad value or the field on another type, before building anything', () => {
    const before = tf.memory().numTensors;
    expect(() => createFlow({ type: 'nsf', dim: 2, mixing: 'permute' as 'lu' })).toThrow(/^createFlow: mixing must be 'lu' or 'none' \(an 'nsf' field\), got "?permute"? for type 'nsf'/);
    expect(() => createFlow({ type: 'realnvp', dim: 2, mixing: 'none' })).toThrow(/^createFlow: mixing .* for type 'realnvp'\. Use e\.g\. \{ type: 'nsf', mixing: 'none' \}, or drop it\./);
    expect(tf.memory().numTensors).toBe(before);
  });
});
