import { afterEach, describe, expect, it, vi } from 'vitest';
import { ODENet, tf, useBackend } from '../../src/index.js';
import type { AugmentedLayout } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { augmentedWidth } from '../../src/nn/fused-field.js';
import { simdWeightGrads } from '../../src/nn/simd-weight-grads.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => maxDiff(a, b) / Math.max(1e-6, ...Array.from(b, Math.abs));

/** No tensor, and no backend buffer, left behind by fn. */
function expectNoLeaks(fn: () => void): void {
  const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
  const before = buffers();
  expect(leaks(fn)).toEqual([0, 0, 0]);
  expect(buffers()).toBe(before);
}

/** [W̄, b̄] by the SIMD module and by tfjs-wasm's products (the kernel path's arithmetic), as arrays. */
function both(h: tf.Tensor2D, aB: tf.Tensor2D, u: tf.Tensor2D, adB: tf.Tensor2D): { simd: number[][] | null; kernels: number[][] } {
  const r = KernelRunner.create()!;
  try {
    const host = r.host()!;
    const g = simdWeightGrads(host, h, aB, u, adB);
    const simd = g ? g.map((t) => Array.from(host.view(t))) : null;
    const dW = r.add(r.matMul(r.transpose(h), aB), r.matMul(r.transpose(u), adB));
    const db = r.matMul(r.constant(new Float32Array(h.shape[0]).fill(1), [1, h.shape[0]]), aB);
    return { simd, kernels: [Array.from(host.view(dW)), Array.from(host.view(db))] };
  } finally {
    r.free();
  }
}

/** h̄ᵀā + uᵀǡ and Σ_rows ā in float64, the reference. */
function exact(h: number[], aB: number[], u: number[], adB: number[], p: number, n: number): number[][] {
  const dW = new Array<number>(p * n).fill(0);
  const db = new Array<number>(n).fill(0);
  const add = (x: number[], y: number[]) => {
    for (let k = 0; k < x.length / p; k++) for (let i = 0; i < p; i++) for (let j = 0; j < n; j++) dW[i * n + j]! += x[k * p + i]! * y[k * n + j]!;
  };
  add(h, aB);
  add(u, adB);
  for (let k = 0; k < aB.length / n; k++) for (let j = 0; j < n; j++) db[j]! += aB[k * n + j]!;
  return [dW, db];
}

describe("the CNF op's weight gradients by the SIMD128 module (simd-weight-grads.ts)", () => {
  // [B, p, n, K]: the input layer (p = D), a hidden layer, the output layer (n = D: the transposed
  // contraction), odd widths on either side (the one-row tile), the exact trace's K·B tangent rows.
  for (const [B, p, n, K] of [[37, 2, 64, 1], [37, 64, 64, 1], [1000, 64, 64, 1], [37, 64, 2, 1], [37, 3, 32, 3], [29, 32, 3, 1], [1, 16, 16, 2]] as const) {
    it(`equals the kernel path's products to float32 accuracy: h [${B}, ${p}], ā [${B}, ${n}], K = ${K}`, async () => {
      await useBackend('wasm');
      const [h, aB] = [tf.randomNormal([B, p], 0, 1, 'float32', 1), tf.randomNormal([B, n], 0, 1, 'float32', 2)] as tf.Tensor2D[];
      const [u, adB] = [tf.randomNormal([K * B, p], 0, 1, 'float32', 3), tf.randomNormal([K * B, n], 0, 1, 'float32', 4)] as tf.Tensor2D[];
      const before = tf.memory().numTensors;
      const { simd, kernels } = both(h!, aB!, u!, adB!);
      expect(tf.memory().numTensors).toBe(before);
      expect(simd).not.toBeNull();
      const ref = exact(values(h!), values(aB!), values(u!), values(adB!), p, n);
      for (let i = 0; i < 2; i++) {
        expect(relDiff(simd![i]!, kernels[i]!)).toBeLessThan(2e-6);
        expect(relDiff(simd![i]!, ref[i]!)).toBeLessThan(2e-6);
      }
      tf.dispose([h!, aB!, u!, adB!]);
    });
  }

  it('declines where neither width is a multiple of 16 and on backends without the module (cpu)', async () => {
    await useBackend('wasm');
    const [h, aB] = [tf.ones([8, 7]), tf.ones([8, 6])] as tf.Tensor2D[];
    expect(both(h!, aB!, h!, aB!).simd).toBeNull();
    const [h0, a0] = [tf.ones([8, 16]), tf.ones([8, 0])] as tf.Tensor2D[];
    const r0 = KernelRunner.create()!;
    expect(simdWeightGrads(r0.host()!, h0!, a0!, h0!, a0!)).toBeNull(); // a zero width would wrap the module's loop counts
    r0.free();
    tf.dispose([h0!, a0!]);
    await useBackend('cpu');
    const r = KernelRunner.create()!;
    const [x, y] = [tf.ones([8, 16]), tf.ones([8, 16])] as tf.Tensor2D[];
    expect(simdWeightGrads(r.hostOrCpu()!, x!, y!, x!, y!)).toBeNull();
    r.free();
    tf.dispose([h!, aB!, x!, y!]);
  });

  it('the CNF op on wasm takes it and the SIMD products (no kernel product, none packs a B-row operand) with the taped reference’s gradients and no leaks', async () => {
    await useBackend('wasm');
    const B = 50;
    const net = new ODENet({ dim: 2, hidden: [32, 32], seed: 3 });
    const layout: AugmentedLayout = { dim: 2, regs: true, trace: 'hutchinson' };
    const width = augmentedWidth(layout);
    const y = tf.randomNormal([width, B], 0, 1, 'float32', 5) as tf.Tensor2D;
    const w = tf.randomNormal([width, B], 0, 1, 'float32', 6) as tf.Tensor2D;
    const gradient = (fused: boolean) => tf.tidy(() => tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(tf.mul(net.augmented(0.3, yy as tf.Tensor2D, layout, fused), w)))([y, ...net.variables]).flatMap((t) => values(t)));
    const taped = gradient(false);
    const rights: number[][] = [];
    const matMul = KernelRunner.prototype.matMul;
    vi.spyOn(KernelRunner.prototype, 'matMul').mockImplementation(function (this: KernelRunner, a, b, ...rest) {
      rights.push([...b.shape]);
      return matMul.call(this, a, b, ...rest);
    });
    const fused = gradient(true);
    // Every product of this net's layers fits the SIMD module's (backend/simd-matmul.ts): none is left to the kernels.
    expect(rights).toEqual([]);
    expect(relDiff(fused, taped)).toBeLessThan(1e-4);
    expectNoLeaks(() => void gradient(true));
    tf.dispose([y, w]);
    net.dispose();
  });

  // Shapes the SIMD products and jets take (B a multiple of 4, widths of 16): the exact trace's K = D
  // tangent blocks, activations whose σ″ reads a, sigmoid, and a context entering every layer.
  for (const [trace, activation, context] of [['exact', 'tanh', 0], ['hutchinson', 'swish', 2], ['exact', 'elu', 2], ['hutchinson', 'sigmoid', 0]] as const) {
    it(`the CNF op on wasm through the SIMD products and jets matches the taped reference: ${trace} trace, ${activation}, context ${context}, with RNODE terms and no leaks`, async () => {
      await useBackend('wasm');
      const B = 48;
      const net = new ODENet({ dim: 3, hidden: [32, 16], activation, contextDim: context, seed: 5 });
      const layout: AugmentedLayout = { dim: 3, regs: true, trace, context };
      const width = augmentedWidth(layout);
      const y = tf.randomNormal([width, B], 0, 1, 'float32', 7) as tf.Tensor2D;
      const w = tf.randomNormal([width, B], 0, 1, 'float32', 8) as tf.Tensor2D;
      const run = (fused: boolean) => tf.tidy(() => {
        const f = (yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(tf.mul(net.augmented(0.3, yy as tf.Tensor2D, layout, fused), w));
        return [values(net.augmented(0.3, y, layout, fused)), ...tf.grads(f)([y, ...net.variables]).map((t) => values(t))];
      });
      const taped = run(false);
      const products: number[][] = [];
      const matMul = KernelRunner.prototype.matMul;
      vi.spyOn(KernelRunner.prototype, 'matMul').mockImplementation(function (this: KernelRunner, a, b, ...rest) {
        products.push([...a.shape, ...b.shape]);
        return matMul.call(this, a, b, ...rest);
      });
      const fused = run(true);
      // Left to the kernels: the context's products (c·W_c and its cotangent, C = 2 columns) and, for
      // the exact trace, the first layer's weight gradient āᵀ·z (a contraction over the B rows; no
      // tangent input there). Every layer's product with its new weights runs on the SIMD module.
      expect(products.filter(([, k, , q]) => k !== context && q !== context && k !== B)).toEqual([]);
      fused.forEach((f, i) => expect(relDiff(f, taped[i]!), `part ${i}`).toBeLessThan(1e-4));
      expectNoLeaks(() => void run(true));
      tf.dispose([y, w]);
      net.dispose();
    });
  }
});
