import { afterEach, describe, expect, it, vi } from 'vitest';
import { AffineCoupling, SplineCoupling, tf, useBackend } from '../../src/index.js';
import type { SplineOptions } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { simdGradAvailable } from '../../src/discrete/simd-grad.js';
import { maxDiff, values } from '../tensor-helpers.js';

/** ∂L/∂x and ∂L/∂θ of L = Σ w ⊙ y + Σ r ⊙ log-det, flattened. */
function gradient(c: AffineCoupling | SplineCoupling, x: tf.Tensor2D): number[] {
  return tf.tidy(() => {
    const f = (xx: tf.Tensor) => {
      const { y, logDet } = c.forward(xx as tf.Tensor2D);
      return tf.add(tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 5))), tf.sum(tf.mul(logDet, tf.randomNormal(logDet.shape, 0, 1, 'float32', 6)))) as tf.Scalar;
    };
    return tf.grads((xx: tf.Tensor, ..._vs: tf.Tensor[]) => f(xx))([x, ...c.net.variables]).flatMap((g) => values(g));
  });
}

type Activation = 'relu' | 'tanh';
const affine = (fused: boolean, activation: Activation = 'relu') => new AffineCoupling({ dim: 2, parity: 'odd', hidden: [64, 64], activation, seed: 3, fused });
// (SplineOptions has no activation; the Coupling base reads one all the same.)
const spline = (fused: boolean, activation: Activation = 'relu') => new SplineCoupling({ dim: 2, parity: 'even', hidden: [64, 64], activation, seed: 3, bins: 8, bound: 3, fused } as SplineOptions);

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`the fused coupling's backward pass at training batch sizes (${backend})`, () => {
    afterEach(() => vi.restoreAllMocks());

    // Batches of 1024, 96 and 40 rows take the blocked transposes (blocks of 32, 32, 8 rows); 37 the
    // 2-d one. relu's derivative jumps at 0: at 1024 rows a unit whose pre-activation the two paths
    // round to opposite sides of 0 turns up (on main as well), so there the comparison is with tanh.
    for (const [rows, activation] of [[1024, 'tanh'], [96, 'relu'], [40, 'relu'], [37, 'relu']] as const) {
      for (const [kind, make, scale] of [['affine', affine, 0.3], ['spline', spline, 0.1]] as const) {
        it(`${kind}, ${rows} rows, 64-64 ${activation} conditioner: gradients equal the taped path's`, async () => {
          await useBackend(backend);
          const [fused, taped] = [make(true, activation), make(false, activation)];
          for (const c of [fused, taped]) c.net.variables.forEach((v, i) => v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, scale, 'float32', 11 + i))));
          const x = tf.randomNormal([rows, 2], 0, 1.5, 'float32', 2) as tf.Tensor2D;
          const [g, h] = [gradient(fused, x), gradient(taped, x)];
          expect(maxDiff(g, h) / Math.max(...h.map(Math.abs))).toBeLessThan(1e-5);
          tf.dispose([x]);
          fused.dispose();
          taped.dispose();
        });
      }
    }

    it("the affine backward pass reads the forward's s and eˢ: no tanh or exp is evaluated again", async () => {
      await useBackend(backend);
      const c = affine(true);
      const x = tf.randomNormal([64, 2], 0, 1, 'float32', 2) as tf.Tensor2D;
      const [tanh, exp] = [vi.spyOn(Math, 'tanh'), vi.spyOn(Math, 'exp')];
      const f = () => tf.tidy(() => tf.add(tf.sum(c.forward(x).y), tf.sum(c.forward(x).logDet)) as tf.Scalar);
      tf.tidy(() => f());
      const forwardCalls = [tanh.mock.calls.length, exp.mock.calls.length];
      expect(forwardCalls[0]).toBeGreaterThanOrEqual(64); // the forward pass evaluates them (two forwards here: 128)
      tanh.mockClear();
      exp.mockClear();
      const { value, grads } = tf.variableGrads(f, c.net.variables);
      // The gradient's own forward passes evaluate them as before; its backward passes add none.
      expect([tanh.mock.calls.length, exp.mock.calls.length]).toEqual(forwardCalls);
      tf.dispose([value, ...Object.values(grads), x]);
      c.dispose();
    });

    it('recomputes the first hidden layer for a narrow conditioner input and saves it for a wide one: the taped gradients either way', async () => {
      // x_A alone (1 column) takes the recomputing form; x_A with a 10-column context (11 > 8) the saving one.
      await useBackend(backend);
      const { countKernels } = await import('../../src/backend/kernel-count.js');
      for (const [contextDim, kernel] of [[0, 'BiflowCoupling3'], [10, 'BiflowCoupling3s']] as const) {
        const make = (fused: boolean) => new AffineCoupling({ dim: 2, parity: 'odd', hidden: [64, 64], activation: 'tanh', seed: 3, fused, contextDim });
        const [fused, taped] = [make(true), make(false)];
        for (const c of [fused, taped]) c.net.variables.forEach((v, i) => v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.3, 'float32', 11 + i))));
        const x = tf.randomNormal([96, 2], 0, 1.5, 'float32', 2) as tf.Tensor2D;
        const context = tf.randomNormal([96, contextDim], 0, 1, 'float32', 3) as tf.Tensor2D;
        const grad = (c: AffineCoupling) => tf.tidy(() => tf.grads((xx: tf.Tensor, ..._vs: tf.Tensor[]) => {
          const { y, logDet } = c.forward(xx as tf.Tensor2D, { context });
          return tf.add(tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 5))), tf.sum(tf.mul(logDet, tf.randomNormal(logDet.shape, 0, 1, 'float32', 6)))) as tf.Scalar;
        })([x, ...c.net.variables]).flatMap((g) => values(g)));
        const [g, h] = [grad(fused), grad(taped)];
        expect(maxDiff(g, h) / Math.max(...h.map(Math.abs))).toBeLessThan(1e-5);
        const k = await countKernels(() => fused.forward(x, { context }).y);
        expect(k.byName.map(([n]) => n)).toContain(kernel);
        tf.dispose([x, context]);
        fused.dispose();
        taped.dispose();
      }
    });

    it('packs no [N, 64] operand per coupling backward where the SIMD weight-gradient kernel runs, else one', async () => {
      // tfjs-wasm packs the right operand of every product anew when the tensor is new (≈ 0.3 ms for
      // [1024, 64]) and keeps the packed copy on that tensor. On wasm the weight gradients hᵀā are
      // simd-grad.ts's, which packs nothing; elsewhere the input and output layers' weight gradients
      // need not pack anything of N rows wider than 3 columns, so only the hidden layer's hᵀā packs
      // ā (its bias gradient 1ᵀā reuses that packed copy: one tensor, counted once).
      await useBackend(backend);
      const c = affine(true);
      const x = tf.randomNormal([256, 2], 0, 1, 'float32', 2) as tf.Tensor2D;
      const rights: { shape: number[]; dataId: object }[] = [];
      const matMul = KernelRunner.prototype.matMul;
      vi.spyOn(KernelRunner.prototype, 'matMul').mockImplementation(function (this: KernelRunner, a, b, ...rest) {
        rights.push({ shape: [...b.shape], dataId: b.dataId });
        return matMul.call(this, a, b, ...rest);
      });
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(c.forward(x).y)) as tf.Scalar, c.net.variables);
      tf.dispose([value, ...Object.values(grads)]);
      const wide = [...new Map(rights.filter(({ shape: [m, n] }) => m === 256 && n! > 3).map((b) => [b.dataId, b.shape])).values()];
      expect(rights.length).toBeGreaterThanOrEqual(2); // forward and backward products were seen (on wasm only the hidden layer's two)
      expect(wide).toEqual(simdGradAvailable() ? [] : [[256, 64]]);
      if (backend === 'wasm') expect(simdGradAvailable()).toBe(true); // Node's V8 runs SIMD128
      x.dispose();
      c.dispose();
    });
  });
}
