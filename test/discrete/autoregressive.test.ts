import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, leafBlocks, MaskedAutoregressive, tf, useBackend } from '../../src/index.js';
import type { AutoregressiveOptions } from '../../src/index.js';
import { maxDiff, values } from '../tensor-helpers.js';

const [D, K, N] = [3, 2, 5];

/** A transform with random conditioner weights everywhere (the zero last layer would hide it). */
function build(o: Partial<AutoregressiveOptions> & { transform: 'affine' | 'spline' }): MaskedAutoregressive {
  const b = new MaskedAutoregressive({ dim: D, hidden: [12, 10], bins: 5, bound: 2.5, contextDim: K, ...o });
  b.net.variables.forEach((v, i) => v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.5, 'float32', 30 + i))));
  return b;
}

describe('masked autoregressive transform (MAF)', () => {
  let x: tf.Tensor2D;
  let c: tf.Tensor2D;
  beforeAll(async () => {
    await useBackend('wasm');
    x = tf.keep(tf.randomNormal([N, D], 0, 1.2, 'float32', 3)) as tf.Tensor2D;
    c = tf.keep(tf.randomNormal([N, K], 0, 1, 'float32', 4)) as tf.Tensor2D;
  });

  for (const transform of ['affine', 'spline'] as const) {
    for (const order of ['ascending', 'descending'] as const) {
      it(`${transform}, ${order}: output i depends only on the inputs before it in the order, and the first on the context alone`, () => {
        const b = build({ transform, order });
        try {
          const rank = (i: number) => (order === 'ascending' ? i : D - 1 - i);
          for (let i = 0; i < D; i++) {
            const [gx, gc] = tf.tidy(() => tf.grads((xx: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.slice(b.forward(xx as tf.Tensor2D, { context: cc as tf.Tensor2D }).y, [0, i], [-1, 1])))([x, c]).map((g) => values(g)));
            for (let j = 0; j < D; j++) {
              const col = gx!.filter((_, k) => k % D === j).map(Math.abs);
              // Later (and equal-rank other) inputs: exactly zero; earlier ones and x_i itself: not.
              if (j !== i && rank(j) > rank(i)) expect(Math.max(...col)).toBe(0);
              else expect(Math.max(...col)).toBeGreaterThan(1e-4);
            }
            expect(Math.max(...gc!.map(Math.abs))).toBeGreaterThan(1e-4); // every output reads the context
          }
        } finally {
          b.dispose();
        }
      });
    }

    it(`${transform}: the fused forward equals the taped one, values and gradients (x, context, weights)`, () => {
      const [fused, taped] = [build({ transform }), build({ transform, fused: false })];
      try {
        const run = (b: MaskedAutoregressive) => tf.tidy(() => {
          const f = (xx: tf.Tensor, cc: tf.Tensor, ...ws: tf.Tensor[]) => {
            void ws;
            const { y, logDet } = b.forward(xx as tf.Tensor2D, { context: cc as tf.Tensor2D });
            return tf.add(tf.sum(tf.mul(y, tf.range(1, D + 1))), tf.sum(logDet)) as tf.Scalar;
          };
          const { y, logDet } = b.forward(x, { context: c });
          return [values(y), values(logDet), ...tf.grads(f)([x, c, ...b.net.variables]).map((g) => values(g))];
        });
        const [a, t] = [run(fused), run(taped)];
        a.forEach((v, k) => expect(maxDiff(v, t[k]!)).toBeLessThan(2e-4 * Math.max(1, ...t[k]!.map(Math.abs))));
        expect(Math.max(...a[1]!.map(Math.abs))).toBeGreaterThan(0.05); // not the identity
      } finally {
        fused.dispose();
        taped.dispose();
      }
    });

    it(`${transform}: leaks no tensor or buffer over forward, inverse and a gradient, repeated`, () => {
      const b = build({ transform });
      const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
      const once = () => {
        const { y, logDet } = b.forward(x, { context: c });
        const back = b.inverse(y, { context: c });
        const g = tf.grads((xx: tf.Tensor) => tf.sum(b.forward(xx as tf.Tensor2D, { context: c }).logDet))([x]);
        tf.dispose([y, logDet, back.x, back.logDet, ...g]);
      };
      once();
      const [t0, d0] = [tf.memory().numTensors, buffers()];
      for (let k = 0; k < 3; k++) once();
      expect([tf.memory().numTensors, buffers()]).toEqual([t0, d0]);
      expect(() => b.forward(x)).toThrow(/^MaskedAutoregressive: context must be \[5, 2\] rows/);
      expect([tf.memory().numTensors, buffers()]).toEqual([t0, d0]);
      b.dispose();
    });
  }

  it('refuses bad options by name before building anything', () => {
    const before = tf.memory().numTensors;
    expect(() => new MaskedAutoregressive({ dim: 1, transform: 'affine' })).toThrow(/^MaskedAutoregressive: dim must be an integer ≥ 2, got 1/);
    expect(() => new MaskedAutoregressive({ dim: 2, transform: 'additive' as 'affine' })).toThrow(/^MaskedAutoregressive: transform must be 'affine' or 'spline'/);
    expect(() => new MaskedAutoregressive({ dim: 2, transform: 'affine', order: 'random' as 'ascending' })).toThrow(/^MaskedAutoregressive: order must be/);
    expect(() => new MaskedAutoregressive({ dim: 2, transform: 'spline', bins: 1 })).toThrow(/^MaskedAutoregressive: bins must be an integer ≥ 2/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("createFlow builds nsf and realnvp as MAF stacks with alternating orders, and refuses the option elsewhere", () => {
    const nsf = createFlow({ type: 'nsf', dim: 2, contextDim: 2, autoregressive: true, standardize: false });
    const rnvp = createFlow({ type: 'realnvp', dim: 2, layers: 3, autoregressive: true });
    try {
      const blocks = leafBlocks(nsf.bijector);
      expect(blocks.every((b) => b instanceof MaskedAutoregressive)).toBe(true);
      expect(blocks.map((b) => [b.getConfig().transform, b.getConfig().order])).toEqual([['spline', 'ascending'], ['spline', 'descending'], ['spline', 'ascending'], ['spline', 'descending']]);
      expect(leafBlocks(rnvp.bijector).map((b) => b.getConfig().transform)).toEqual(['affine', 'affine', 'affine']);
      // A fresh MAF (zero last layers) is the identity: log q is the standard normal's.
      const lp = rnvp.logProb(tf.tensor2d([[0, 0], [1, -2]]));
      expect(maxDiff(values(lp), [-Math.log(2 * Math.PI), -Math.log(2 * Math.PI) - 2.5])).toBeLessThan(1e-5);
      lp.dispose();
    } finally {
      nsf.dispose();
      rnvp.dispose();
    }
    expect(() => createFlow({ type: 'glow', dim: 2, autoregressive: true })).toThrow(/^createFlow: autoregressive must be true or false \(an 'nsf' or 'realnvp' field\), got true for type 'glow'/);
    expect(() => createFlow({ type: 'nsf', dim: 2, autoregressive: true, mixing: 'lu' })).toThrow(/^createFlow: mixing is a coupling field/);
  });
});
