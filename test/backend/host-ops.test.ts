import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { blockTranspose, hostOnesColumn, packFlat, unpackFlat } from '../../src/backend/host-ops.js';
import { values } from '../tensor-helpers.js';

const buffers = (): number => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`host-ops (${backend})`, () => {
    // 1024 and 64 rows: blocks of 32; 48: 16; 40: 8; 37 and 8: the 2-d kernel.
    for (const [m, n] of [[1024, 64], [64, 3], [48, 5], [40, 23], [37, 4], [8, 2]] as const) {
      it(`blockTranspose of [${m}, ${n}] is xᵀ, with and without a row of ones, and leaves nothing behind`, async () => {
        await useBackend(backend);
        const x = tf.tensor2d(Float32Array.from({ length: m * n }, (_, k) => k * 0.5 - 3), [m, n]);
        const want = tf.transpose(x);
        const [t0, b0] = [tf.memory().numTensors, buffers()];
        for (const ones of [false, true]) {
          const r = KernelRunner.create()!;
          const t = r.keep(blockTranspose(r, x, ones));
          r.free();
          expect(t.shape).toEqual([n + (ones ? 1 : 0), m]);
          expect(values(t)).toEqual([...values(want), ...(ones ? Array<number>(m).fill(1) : [])]);
          t.dispose();
        }
        expect([tf.memory().numTensors - t0, buffers() - b0]).toEqual([0, 0]);
        tf.dispose([x, want]);
      });
    }

    it('unpackFlat undoes packFlat; the pieces marked host-only are parts of the buffer (wasm: no buffer, no copy) that kernels refuse', async () => {
      await useBackend(backend);
      const xs = [tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor1d([7, 8]), tf.tensor2d([9, 10, 11, 12], [4, 1])];
      const [t0, b0] = [tf.memory().numTensors, buffers()];
      const r = KernelRunner.create()!;
      const packed = packFlat(r, xs);
      const b1 = buffers();
      const parts = unpackFlat(r, packed, xs.map((x) => x.shape), [true, false, true]);
      const host = r.hostOrCpu()!;
      parts.forEach((p, i) => {
        expect(p.shape).toEqual(xs[i]!.shape);
        expect(Array.from(host.view(p))).toEqual(values(xs[i]!));
      });
      if (backend === 'wasm') {
        // One buffer for the one piece not marked; the parts read inside the packed buffer.
        expect(buffers() - b1).toBe(1);
        // A part of a part reads further in; a kernel given a part throws rather than read elsewhere.
        expect(Array.from(host.view(host.part(parts[2]!, 1, [2])))).toEqual([10, 11]);
        expect(() => r.add(parts[0]!, 1)).toThrow();
      }
      r.free();
      expect([tf.memory().numTensors - t0, buffers() - b0]).toEqual([0, 0]);
      tf.dispose(xs);
    });

    it('hostOnesColumn appends a column of ones', async () => {
      await useBackend(backend);
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
      const r = KernelRunner.create()!;
      const y = r.keep(hostOnesColumn(r.hostOrCpu()!, x));
      r.free();
      expect(y.shape).toEqual([3, 3]);
      expect(values(y)).toEqual([1, 2, 1, 3, 4, 1, 5, 6, 1]);
      tf.dispose([x, y]);
    });
  });
}
