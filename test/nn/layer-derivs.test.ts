import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ODENet, tf, useBackend } from '../../src/index.js';
import type { LayerKind } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { NUMBER_ARITH } from '../../src/nn/activation-defs.js';
import { LAYER_DEFS } from '../../src/nn/layer-defs.js';
import { LAYER_DERIVS } from '../../src/nn/layer-derivs.js';
import { effective, layerGrads } from '../../src/nn/layer-kernels.js';
import { applyLayers } from '../../src/nn/taped-net.js';
import { evaluate } from '../../src/nn/symbolic.js';
import { maxDiff, values } from '../tensor-helpers.js';

/** Every kind in the definitions (a kind added there is tested here without a line to change). */
const KINDS = Object.keys(LAYER_DEFS) as LayerKind[];

/** A small deterministic generator (the float64 checks need no tensors). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/**
 * One unit's L = dWW·S + dbe·Sh(t, b, S, q) — what Σ_ij dW_e,ij·W_e,ij + Σ_j db_e,j·b_e,j is per
 * unit with dWW = Σ_i dW_e,ij·W_ij — straight from the kind's definition, in float64.
 */
function unitLoss(kind: LayerKind, x: Record<string, number>): number {
  const def = LAYER_DEFS[kind];
  const S = def.scale ? def.scale(NUMBER_ARITH, x.t!, x) : null;
  return (S === null ? 0 : x.dWW! * S) + x.dbe! * def.shift(NUMBER_ARITH, x.t!, x.b!, S, x);
}

describe('layer derivatives (symbolic, from the one definition)', () => {
  it.each(KINDS)('%s: the gradients of b, t and every time variable equal central differences of the definition (float64)', (kind) => {
    const d = LAYER_DERIVS[kind];
    const next = rng(kind.length * 97 + 1);
    for (let trial = 0; trial < 5; trial++) {
      const x: Record<string, number> = { t: next(), b: next(), dWW: next(), dbe: next() };
      for (const k of d.vars) x[k] = 1.5 * next();
      const env = { ...x, ...(d.scale ? { S: evaluate([d.scale], NUMBER_ARITH, x)[0] as number } : {}) };
      const names = ['b', ...d.vars];
      const symbolic = evaluate([...names.map((k) => d.grads[k]!), d.gradT], NUMBER_ARITH, env) as number[];
      [...names, 't'].forEach((k, i) => {
        const h = 1e-6;
        const fd = (unitLoss(kind, { ...x, [k]: x[k]! + h }) - unitLoss(kind, { ...x, [k]: x[k]! - h })) / (2 * h);
        expect(Math.abs(symbolic[i]! - fd), `${kind} ∂/∂${k}`).toBeLessThan(1e-8);
      });
      // Per row: the same with dWW = ā·p and dbe = ā, and a = p·S + Sh.
      const row = { ...env, aBar: x.dbe!, p: x.dWW! / x.dbe! };
      const perRow = evaluate([...names.map((k) => d.rowGrads[k]!), d.rowGradT, d.forward], NUMBER_ARITH, row) as number[];
      names.forEach((k, i) => expect(perRow[i]!, `${kind} per row ∂/∂${k}`).toBeCloseTo(symbolic[i]!, 10));
      expect(perRow[names.length]!).toBeCloseTo(symbolic[names.length]!, 10);
      const def = LAYER_DEFS[kind];
      const S = def.scale ? def.scale(NUMBER_ARITH, x.t!, x) : null;
      expect(perRow[names.length + 1]!).toBeCloseTo(row.p * (S ?? 1) + def.shift(NUMBER_ARITH, x.t!, x.b!, S, x), 12);
    }
  });

  describe.each(['wasm', 'cpu'] as const)('layerGrads on %s (host loops on wasm, kernels on cpu)', (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(async () => {
      await useBackend('wasm');
    });

    it.each(KINDS)('%s: equals tf.grad of the taped layer, leaving no tensors or buffers behind', (kind) => {
      // A layer with random time variables (b and the gate bias are zeros at initialisation).
      const net = new ODENet({ dim: 3, hidden: [5], layer: kind, seed: 3 });
      const p = net.layerVariables[0]!;
      tf.tidy(() => p.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.8, 'float32', 20 + i))));
      const t = 0.37;
      const h = tf.randomNormal([4, 3], 0, 1, 'float32', 7);
      const dy = tf.randomNormal([4, 5], 0, 1, 'float32', 8);
      const taped = tf.tidy(() => tf.grads((...vs: tf.Tensor[]) => tf.sum(tf.mul(applyLayers(kind, 'tanh', [vs], t, h), dy)))([...p]).map(values));
      // The effective W's and b's cotangents of Σ dy ⊙ (h·W_e + b_e): hᵀ·dy and Σ_rows dy.
      const run = (): number[][] => {
        const r = KernelRunner.create()!;
        try {
          const eff = effective(r, kind, t, p);
          return layerGrads(r, kind, t, p, eff.ctx, r.matMul(r.transpose(h), dy), r.sum(dy, 0)).map((g, i) => {
            expect(g.shape, `${kind} shape of gradient ${i}`).toEqual(p[i]!.shape);
            return values(r.keep(g));
          });
        } finally {
          r.free();
        }
      };
      const fused = tf.tidy(run);
      fused.forEach((g, i) => expect(maxDiff(g, taped[i]!), `${kind} gradient ${i}`).toBeLessThan(1e-5));
      const [tensors, buffers] = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
      for (let i = 0; i < 3; i++) tf.tidy(run);
      expect([tf.memory().numTensors - tensors, tf.engine().backend.numDataIds() - buffers]).toEqual([0, 0]);
      tf.dispose([h, dy]);
      net.dispose();
    });
  });
});

describe('ODENet builds every kind\'s variables from its definition', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each(KINDS)('%s: W (with a time row for timeRow kinds), b, the extras in order with their init shapes and values, then W_c', (kind) => {
    const def = LAYER_DEFS[kind];
    const before = tf.memory().numTensors;
    const net = new ODENet({ dim: 3, hidden: [5], layer: kind, contextDim: 2, seed: 4 });
    const sizes = [3, 5, 3];
    net.layerVariables.forEach((vars, l) => {
      const n = sizes[l + 1]!;
      expect(vars.length).toBe(2 + def.extras.length + 1);
      expect(vars[0]!.shape).toEqual([sizes[l]! + (def.timeRow ? 1 : 0), n]);
      expect(vars[1]!.shape).toEqual([n]);
      def.extras.forEach((name, i) => {
        const { shape, seed } = def.init[name]!;
        const v = vars[2 + i]!;
        expect(v.shape).toEqual(shape === 'row' ? [1, n] : shape === 'vector' ? [n] : [1, 1]);
        const x = Array.from(v.dataSync());
        if (seed === undefined) expect(x.every((e) => e === 0)).toBe(true);
        else expect(x.every((e) => e >= -1 && e <= 1) && x.some((e) => e !== 0)).toBe(true);
      });
      expect(vars[vars.length - 1]!.shape).toEqual([2, n]);
    });
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
