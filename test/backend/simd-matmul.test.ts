import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { simdMatMul } from '../../src/backend/simd-matmul.js';
import { values } from '../tensor-helpers.js';

/** x·w + b in float64, the reference. */
function exact(x: number[], w: number[], b: number[] | null, N: number, K: number, Q: number): number[] {
  const out = new Array<number>(N * Q).fill(0);
  for (let i = 0; i < N; i++) for (let j = 0; j < Q; j++) {
    let s = b ? b[j]! : 0;
    for (let k = 0; k < K; k++) s += x[i * K + k]! * w[k * Q + j]!;
    out[i * Q + j] = s;
  }
  return out;
}

describe('products of row-major matrices by the SIMD128 module (simd-matmul.ts)', () => {
  // [N, K, Q]: a hidden layer (wide tiles), an odd batch (the one-row tile), more than a chunk of
  // 64 terms, the first layer (K ≤ 4: outer products), the output layer (Q ≤ 4: row dot products).
  for (const [N, K, Q] of [[1000, 64, 64], [37, 64, 32], [9, 130, 16], [1, 64, 32], [1000, 2, 64], [33, 3, 48], [1000, 64, 2], [31, 8, 3], [1, 4, 1]] as const) {
    for (const bias of [true, false]) {
      it(`equals x·w${bias ? ' + b' : ''} to float32 accuracy, and XNNPACK's product bit for bit where Q is a multiple of 16 (the tiles' even rows, every row of the outer products): [${N}, ${K}]·[${K}, ${Q}]`, async () => {
        await useBackend('wasm');
        const [x, w, b] = [tf.randomNormal([N, K], 0, 1, 'float32', 1), tf.randomNormal([K, Q], 0, 1, 'float32', 2), tf.randomNormal([Q], 0, 1, 'float32', 3)];
        const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
        const before = buffers();
        const r = KernelRunner.create()!;
        try {
          const out = simdMatMul(r.host()!, x, w, bias ? b : undefined)!;
          expect(out).not.toBeNull();
          expect(out.shape).toEqual([N, Q]);
          const got = Array.from(r.host()!.view(out));
          const ref = exact(values(x), values(w), bias ? values(b) : null, N, K, Q);
          // Relative to Σ|x_k w_k| (+ |b|), the size of the sum's rounding.
          const scale = exact(values(x).map(Math.abs), values(w).map(Math.abs), bias ? values(b).map(Math.abs) : null, N, K, Q);
          got.forEach((g, i) => expect(Math.abs(g - ref[i]!)).toBeLessThanOrEqual(1e-6 * scale[i]! + 1e-30));
          if (Q % 16 === 0) {
            const kernel = Array.from(r.host()!.view(r.matMul(x, w, bias ? b : undefined)));
            const rows = K <= 4 ? N : 2 * Math.floor(N / 2);
            expect(got.slice(0, rows * Q)).toEqual(kernel.slice(0, rows * Q));
          }
        } finally {
          r.free();
        }
        // Every buffer the product made went with the runner.
        expect(buffers()).toBe(before);
        tf.dispose([x, w, b]);
      });
    }
  }

  it('refuses shapes neither form fits, and other backends', async () => {
    await useBackend('wasm');
    const r = KernelRunner.create()!;
    try {
      const host = r.host()!;
      // Q = 8: neither a multiple of 16 nor ≤ 4; Q = 3 with K = 6: the narrow form needs K a multiple of 4.
      expect(simdMatMul(host, r.constant(new Float32Array(12), [2, 6]), r.constant(new Float32Array(48), [6, 8]))).toBeNull();
      expect(simdMatMul(host, r.constant(new Float32Array(12), [2, 6]), r.constant(new Float32Array(18), [6, 3]))).toBeNull();
      expect(simdMatMul(host, r.constant(new Float32Array(0), [0, 6]), r.constant(new Float32Array(96), [6, 16]))).toBeNull();
      // A w whose rows are not x's columns, or a bias of the wrong length: refused, not read past its end.
      expect(simdMatMul(host, r.constant(new Float32Array(12), [2, 6]), r.constant(new Float32Array(80), [5, 16]))).toBeNull();
      expect(simdMatMul(host, r.constant(new Float32Array(12), [2, 6]), r.constant(new Float32Array(96), [6, 16]), r.constant(new Float32Array(8), [8]))).toBeNull();
    } finally {
      r.free();
    }
    await useBackend('cpu');
    const c = KernelRunner.create()!;
    try {
      // The cpu backend's buffers are JS arrays (hostOrCpu): no heap for the module.
      const host = c.hostOrCpu()!;
      expect(simdMatMul(host, c.constant(new Float32Array(12), [2, 6]), c.constant(new Float32Array(96), [6, 16]))).toBeNull();
    } finally {
      c.free();
    }
    await useBackend('wasm');
  });
});
