import { describe, expect, it } from 'vitest';
import { ActNorm, DiagonalScaling, LULinear, tf, useBackend } from '../../src/index.js';
import { countKernels } from '../../src/backend/kernel-count.js';
import { releaseAbandonedTape } from '../../src/backend/tape.js';
import { maxDiff, values } from '../tensor-helpers.js';

const buffers = (): number => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

type Block = ActNorm | LULinear | DiagonalScaling;
/** The block with random values in every variable (the initial L = I, U = 0, s = 0 would hide terms). */
function build(kind: 'actnorm' | 'lu' | 'diagonal', dim: number, fused: boolean): Block {
  const b = kind === 'actnorm' ? new ActNorm(dim) : kind === 'lu' ? new LULinear(dim, 4) : new DiagonalScaling(dim);
  b.fused = fused;
  b.trainableVariables.forEach((v, i) => v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.6, 'float32', 21 + i))));
  return b;
}

/** L = Σ w ⊙ y + Σ r ⊙ log-det. */
const loss = (b: Block, x: tf.Tensor2D) => tf.tidy(() => {
  const { y, logDet } = b.forward(x);
  return tf.add(tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 5))), tf.sum(tf.mul(logDet, tf.randomNormal(logDet.shape, 0, 1, 'float32', 6)))) as tf.Scalar;
});
const gradient = (b: Block, x: tf.Tensor2D): number[] =>
  tf.tidy(() => tf.grads((xx: tf.Tensor, ..._vs: tf.Tensor[]) => loss(b, xx as tf.Tensor2D))([x, ...b.trainableVariables]).flatMap((g) => values(g)));

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`the fused ActNorm, diagonal scaling and LU linear kernels (${backend})`, () => {
    for (const kind of ['actnorm', 'lu', 'diagonal'] as const) {
      for (const dim of [2, 5]) {
        it(`${kind}, dim ${dim}: one kernel whose y, log-det and gradients equal the taped path's`, async () => {
          await useBackend(backend);
          const x = tf.randomNormal([37, dim], 0, 1.5, 'float32', 2) as tf.Tensor2D;
          const [fused, taped] = [build(kind, dim, true), build(kind, dim, false)];
          const [a, b] = [fused.forward(x), taped.forward(x)];
          expect(maxDiff(values(a.y), values(b.y))).toBeLessThan(1e-5);
          expect(maxDiff(values(a.logDet), values(b.logDet))).toBeLessThan(1e-5);
          expect(Math.abs(values(b.logDet)[0]!)).toBeGreaterThan(0.1); // not the identity
          const [g, h] = [gradient(fused, x), gradient(taped, x)];
          expect(g.length).toBe(h.length);
          expect(maxDiff(g, h) / Math.max(...h.map(Math.abs))).toBeLessThan(1e-5);
          const k = await countKernels(() => fused.forward(x).y);
          expect(k.engine).toBe(1);
          tf.dispose([x, a.y, a.logDet, b.y, b.logDet]);
          fused.dispose();
          taped.dispose();
        });
      }

      it(`${kind}: leaks no tensor or buffer over repeated gradient calls; refuses a gradient of a gradient and leaves nothing behind`, async () => {
        await useBackend(backend);
        const x = tf.randomNormal([16, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
        const c = build(kind, 3, true);
        const run = () => {
          const { value, grads } = tf.variableGrads(() => loss(c, x), c.trainableVariables);
          tf.dispose([value, ...Object.values(grads)]);
        };
        run();
        const [t0, b0] = [tf.memory().numTensors, buffers()];
        for (let i = 0; i < 3; i++) run();
        expect(() => {
          try {
            tf.grad((xx: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => loss(c, u as tf.Tensor2D))(xx)))(x);
          } catch (e) {
            releaseAbandonedTape();
            throw e;
          }
        }).toThrow(/gradient of a gradient through the fused op is not supported.*fused = false/);
        expect([tf.memory().numTensors - t0, buffers() - b0]).toEqual([0, 0]);
        x.dispose();
        c.dispose();
      });
    }
  });
}
