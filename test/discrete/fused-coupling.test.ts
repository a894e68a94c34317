import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdditiveCoupling, AffineCoupling, createFlow, SplineCoupling, tf, useBackend } from '../../src/index.js';
import type { Bijector, SplineOptions } from '../../src/index.js';
import { countKernels } from '../../src/backend/kernel-count.js';
import { releaseAbandonedTape, withTapeCleanup } from '../../src/backend/tape.js';
import { Adam } from '../../src/train/adam.js';
import { maxDiff, values } from '../tensor-helpers.js';

const buffers = (): number => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

type Block = AdditiveCoupling | AffineCoupling | SplineCoupling;
type Make = (o: { fused: boolean; activation: 'relu' | 'tanh'; dim: number }) => Block;
const KINDS: [string, Make][] = [
  ['additive', (o) => new AdditiveCoupling({ parity: 'even', hidden: [8, 6], seed: 3, ...o })],
  ['affine', (o) => new AffineCoupling({ parity: 'odd', hidden: [8, 6], seed: 3, ...o })],
  // Bound 2 with 5 bins: the test rows' x₁ are 2.39 (outside: the identity), 1.05, −1.93, 0.06, 0.58, 0.92, 1.42.
  // (SplineOptions has no activation; the Coupling base reads one all the same: tanh for the finite differences.)
  ['spline', (o) => new SplineCoupling({ parity: 'even', hidden: [8, 6], seed: 3, bins: 5, bound: 2, ...o } as SplineOptions)],
];

/** A coupling whose conditioner has random weights everywhere (the zero last layer would hide the transform). */
function build(make: Make, fused: boolean, activation: 'relu' | 'tanh', dim = 3) {
  const c = make({ fused, activation, dim });
  c.net.variables.forEach((v, i) => v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.7, 'float32', 11 + i))));
  return c;
}

/** L = Σ w ⊙ y + Σ r ⊙ log-det: a scalar that weighs every output. */
const loss = (b: Bijector, x: tf.Tensor2D) => tf.tidy(() => {
  const { y, logDet } = b.forward(x);
  const w = tf.randomNormal(y.shape, 0, 1, 'float32', 5);
  const r = tf.randomNormal(logDet.shape, 0, 1, 'float32', 6);
  return tf.add(tf.sum(tf.mul(y, w)), tf.sum(tf.mul(logDet, r))) as tf.Scalar;
});

/** ∂L/∂x and ∂L/∂θ for every conditioner variable, flattened. */
function gradient(b: Block, x: tf.Tensor2D): number[] {
  return tf.tidy(() => tf.grads((xx: tf.Tensor, ..._vs: tf.Tensor[]) => loss(b, xx as tf.Tensor2D))([x, ...b.net.variables]).flatMap((g) => values(g)));
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`the fused coupling kernel (${backend})`, () => {
    let x: tf.Tensor2D;
    beforeAll(async () => {
      await useBackend(backend);
      x = tf.randomNormal([7, 3], 0, 1.5, 'float32', 2) as tf.Tensor2D;
      const x1 = values(x).filter((_, i) => i % 3 === 1);
      expect(x1.some((v) => Math.abs(v) > 2) && x1.some((v) => Math.abs(v) < 2)).toBe(true);
    });
    afterAll(() => x.dispose());

    for (const [kind, make] of KINDS) {
      for (const activation of ['relu', 'tanh'] as const) {
        it(`${kind}, ${activation}: runs as one kernel whose y and log-det equal the taped path's`, async () => {
          const [fused, taped] = [build(make, true, activation), build(make, false, activation)];
          const a = fused.forward(x);
          const b = taped.forward(x);
          expect(maxDiff(values(a.y), values(b.y))).toBeLessThan(1e-5);
          expect(maxDiff(values(a.logDet), values(b.logDet))).toBeLessThan(1e-5);
          if (kind !== 'additive') expect(Math.max(...values(b.logDet).map(Math.abs))).toBeGreaterThan(0.1); // the transform is not the identity
          const k = await countKernels(() => fused.forward(x).y);
          expect(k.byName.map(([n]) => n)).toContain('BiflowCoupling3');
          tf.dispose([a.y, a.logDet, b.y, b.logDet]);
          fused.dispose();
          taped.dispose();
        });

        it(`${kind}, ${activation}: gradients with respect to x and every parameter equal the taped path's`, () => {
          const [fused, taped] = [build(make, true, activation), build(make, false, activation)];
          const [g, h] = [gradient(fused, x), gradient(taped, x)];
          expect(maxDiff(g, h) / Math.max(...h.map(Math.abs))).toBeLessThan(1e-5);
          fused.dispose();
          taped.dispose();
        });
      }

      it(`${kind}: gradients with respect to x and the parameters equal central finite differences (tanh conditioner)`, () => {
        const c = build(make, true, 'tanh');
        const g = gradient(c, x);
        // Perturb one entry of x or of a variable at a time; float32 central differences with h = 1e-2.
        const targets: (tf.Variable | 'x')[] = ['x', ...c.net.variables];
        let offset = 0;
        let worst = 0;
        const xv = values(x);
        for (const t of targets) {
          const base = t === 'x' ? xv : values(t);
          for (let i = 0; i < base.length; i++) {
            const at = (d: number) => {
              const v = Float32Array.from(base);
              v[i] = v[i]! + d;
              if (t === 'x') return tf.tidy(() => loss(c, tf.tensor2d(v, x.shape)).dataSync()[0]!);
              const saved = tf.tensor(base, t.shape);
              t.assign(tf.tensor(v, t.shape));
              const L = tf.tidy(() => loss(c, x).dataSync()[0]!);
              t.assign(saved);
              saved.dispose();
              return L;
            };
            const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
            worst = Math.max(worst, Math.abs(fd - g[offset + i]!) / Math.max(1, Math.abs(fd)));
          }
          offset += base.length;
        }
        expect(offset).toBe(g.length);
        expect(worst).toBeLessThan(2e-2);
        c.dispose();
      });

      it(`${kind}: leaks no tensor or buffer over repeated forward and gradient calls, nor across thrown errors`, () => {
        const c = build(make, true, 'relu');
        const run = () => {
          const { value, grads } = tf.variableGrads(() => loss(c, x), c.net.variables);
          tf.dispose([value, ...Object.values(grads)]);
        };
        const bad = tf.zeros([4, 5]) as tf.Tensor2D;
        run();
        const [t0, b0] = [tf.memory().numTensors, buffers()];
        for (let i = 0; i < 3; i++) run();
        // A failure after the fused op while a gradient is recorded (its saved tensors are freed), and bad input.
        for (let i = 0; i < 2; i++) {
          expect(() => tf.variableGrads(() => withTapeCleanup(() => {
            loss(c, x).dispose();
            throw new Error('boom');
          }), c.net.variables)).toThrow('boom');
          expect(() => c.forward(bad)).toThrow();
        }
        expect([tf.memory().numTensors - t0, buffers() - b0]).toEqual([0, 0]);
        bad.dispose();
        c.dispose();
      });
    }

    it('refuses a gradient of a gradient through the fused kernel (it would miss terms) and leaves nothing behind; the taped path takes it', () => {
      const [fused, taped] = [build(KINDS[1]![1], true, 'tanh'), build(KINDS[1]![1], false, 'tanh')];
      const second = (c: Block) => tf.grad((xx: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => loss(c, u as tf.Tensor2D))(xx)))(x);
      const [t0, b0] = [tf.memory().numTensors, buffers()];
      // A throw inside a gradient abandons tfjs's tape with what it saved; the backend's tape helper frees it.
      expect(() => {
        try {
          second(fused);
        } catch (e) {
          releaseAbandonedTape();
          throw e;
        }
      }).toThrow(/gradient of a gradient through a fused coupling is not supported.*fused: false/);
      const g = second(taped);
      expect(Math.max(...values(g).map(Math.abs))).toBeGreaterThan(0);
      g.dispose();
      expect([tf.memory().numTensors - t0, buffers() - b0]).toEqual([0, 0]);
      fused.dispose();
      taped.dispose();
    });

    it('a realnvp training iteration runs one kernel per coupling forward and no kernel for the Adam update', async () => {
      const flow = createFlow({ type: 'realnvp', dim: 2 });
      const vars = flow.trainableVariables;
      const adam = new Adam(vars, { lr: 1e-3 });
      const batch = tf.randomNormal([64, 2]) as tf.Tensor2D;
      const { value, grads } = tf.variableGrads(() => flow.loss(batch), vars);
      const step = await countKernels(() => adam.apply(vars.map((v) => grads[v.name])));
      const k = await countKernels(() => {
        const r = tf.variableGrads(() => flow.loss(batch), vars);
        return [r.value, ...Object.values(r.grads)];
      });
      // Taped, the loss and gradient were 1175 engine kernels and the update 504.
      expect(k.byName.find(([n]) => n === 'BiflowCoupling3')?.[1]).toBe(6);
      expect(k.engine).toBeLessThan(200);
      expect(step.engine + step.runner).toBe(0);
      tf.dispose([value, batch, ...Object.values(grads)]);
      adam.dispose();
      flow.dispose();
    });
  });
}
