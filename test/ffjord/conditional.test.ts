import { beforeAll, describe, expect, it } from 'vitest';
import { CNF, cnfForward64, InvalidArgumentError, LAYER_KINDS, tf, useBackend } from '../../src/index.js';
import type { CNFOptions, GradientMode } from '../../src/index.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const D = 2;
const C = 3;
/** Fixed steps: a finite difference then sees the same discretisation at every perturbation. */
const fixed: Partial<CNFOptions> = { method: 'rk4', stepSize: 0.05 };

const cnf = (o: Partial<CNFOptions> = {}) => new CNF({ dim: D, contextDim: C, hidden: [8, 8], seed: 3, T: 0.6, ...o });
const x = () => tf.tensor2d([[0.3, -0.4], [1.1, 0.2], [-0.7, 0.9]]);
const ctx = () => tf.tensor2d([[0.5, -1, 0.2], [-0.3, 0.8, 1.5], [1.2, 0.1, -0.6]]);

/** log|det| of the numerical Jacobian of row `b`'s forward map at its fixed context. */
function numericalLogDet(block: CNF, xs: number[][], cs: number[][], b: number, h = 1e-3): number {
  const J = [0, 1].map((j) => {
    const at = (d: number) => tf.tidy(() => {
      const row = xs[b]!.map((v, k) => (k === j ? v + d : v));
      return values(block.forward(tf.tensor2d([row]), { context: tf.tensor2d([cs[b]!]) }).y);
    });
    const [p, m] = [at(h), at(-h)];
    return p.map((v, i) => (v - m[i]!) / (2 * h));
  });
  // J[j][i] = ∂y_i/∂x_j.
  return Math.log(Math.abs(J[0]![0]! * J[1]![1]! - J[0]![1]! * J[1]![0]!));
}

describe('a conditional CNF (contextDim > 0)', () => {
  it.each(LAYER_KINDS)('%s: inverse(forward(x | c) | c) = x, and the log-det is that of the numerical Jacobian at fixed c', (layer) => {
    const block = cnf({ layer, rtol: 1e-7, atol: 1e-7 });
    const [xt, ct] = [x(), ctx()];
    const f = block.forward(xt, { context: ct });
    const back = block.inverse(f.y, { context: ct });
    expect(maxDiff(values(back.x), values(xt))).toBeLessThan(2e-4);
    expect(maxDiff(values(back.logDet), values(f.logDet).map((v) => -v))).toBeLessThan(2e-4);
    const [xs, cs, ld] = [xt.arraySync(), ct.arraySync(), values(f.logDet)];
    for (let b = 0; b < 3; b++) expect(Math.abs(ld[b]! - numericalLogDet(block, xs, cs, b))).toBeLessThan(3e-3);
    // The context matters: another c moves the rows.
    const other = tf.tidy(() => block.forward(xt, { context: tf.reverse(ct, 0) as tf.Tensor2D }).y);
    expect(maxDiff(values(other), values(f.y))).toBeGreaterThan(1e-3);
    tf.dispose([xt, ct, f.y, f.logDet, back.x, back.logDet, other]);
    block.dispose();
  });

  it.each(['direct', 'backsolve'] as GradientMode[])('the gradient with respect to c (%s) is the finite difference of the loss', (gradient) => {
    const block = cnf({ ...fixed, gradient, trace: 'exact' });
    const [xt, ct] = [x(), ctx()];
    const w = tf.tensor2d([[0.7, -0.2], [0.4, 1.1], [-0.9, 0.3]]);
    const loss = (c: tf.Tensor2D) => tf.tidy(() => {
      const r = block.forward(xt, { context: c, training: true });
      return tf.add(tf.sum(tf.mul(r.y, w)), tf.sum(r.logDet)) as tf.Scalar;
    });
    const g = tf.tidy(() => values(tf.grad((c: tf.Tensor) => loss(c as tf.Tensor2D))(ct)));
    const cs = values(ct);
    const h = 1e-2;
    const fd = cs.map((_, i) => {
      const at = (d: number) => tf.tidy(() => loss(tf.tensor2d(cs.map((v, k) => (k === i ? v + d : v)), [3, C])).dataSync()[0]!);
      return (at(h) - at(-h)) / (2 * h);
    });
    expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(1e-2);
    expect(maxDiff(g, fd)).toBeLessThan(2e-3 * Math.max(1, ...fd.map(Math.abs)));
    tf.dispose([xt, ct, w]);
    block.dispose();
  });

  it('the fused dynamics and the taped ones give the same solve, log-det and gradients (c’s included)', () => {
    const run = (fused: boolean) => {
      const block = cnf({ ...fixed, fused, trace: 'hutchinson' });
      const [xt, ct] = [x(), ctx()];
      const out = tf.tidy(() => {
        const grads = tf.grads((c: tf.Tensor, ...vs: tf.Tensor[]) => {
          void vs;
          const r = block.forward(xt, { context: c as tf.Tensor2D, training: true });
          return tf.add(tf.sum(tf.square(r.y)), tf.sum(r.logDet));
        })([ct, ...block.net.variables]);
        return grads.flatMap((t) => values(t));
      });
      tf.dispose([xt, ct]);
      block.dispose();
      return out;
    };
    const [a, b] = [run(true), run(false)];
    expect(maxDiff(a, b) / Math.max(...b.map(Math.abs))).toBeLessThan(1e-4);
  });

  it('the float64 field conditions the same way: its solve matches the float32 one at fixed c', () => {
    const block = cnf({ rtol: 1e-7, atol: 1e-7 });
    const [xt, ct] = [x(), ctx()];
    const f = block.forward(xt, { context: ct });
    const r64 = cnfForward64(block, values(xt), { context: values(ct) });
    expect(maxDiff(Array.from(r64.z), values(f.y))).toBeLessThan(1e-4);
    expect(maxDiff(Array.from(r64.logDet), values(f.logDet))).toBeLessThan(1e-4);
    expect(() => cnfForward64(block, values(xt))).toThrow(InvalidArgumentError);
    tf.dispose([xt, ct, f.y, f.logDet]);
    block.dispose();
  });

  it('rejects a missing, misshapen or disposed context with a typed error naming `context`, before any work and without leaks', () => {
    const block = cnf(fixed);
    const xt = x();
    const bad: unknown[] = [undefined, tf.zeros([3, C + 1]), tf.zeros([2, C]), tf.zeros([3])];
    const disposed = tf.zeros([3, C]);
    disposed.dispose();
    for (const context of [...bad, disposed]) {
      for (const pass of [(o: object) => block.forward(xt, o), (o: object) => block.inverse(xt, o)]) {
        let err: unknown;
        const counts = leaks(() => {
          try {
            pass({ context });
          } catch (e) {
            err = e;
          }
        });
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).message).toMatch(/context/);
        expect(counts).toEqual([0, 0, 0]);
      }
    }
    expect(() => block.trajectory(xt, 3)).toThrow(/context/);
    tf.dispose([xt, ...(bad.filter((b) => b instanceof tf.Tensor) as tf.Tensor[])]);
    block.dispose();
  });

  it('an unconditional CNF ignores a context; a conditional one leaks nothing forward or backward, and keeps contextDim in its config', () => {
    const plain = new CNF({ dim: D, hidden: [8], seed: 1, ...fixed });
    const [xt, ct] = [x(), ctx()];
    const a = tf.tidy(() => values(plain.forward(xt).logDet));
    const b = tf.tidy(() => values(plain.forward(xt, { context: ct }).logDet));
    expect(b).toEqual(a);
    plain.dispose();
    const block = cnf(fixed);
    expect(block.getConfig().contextDim).toBe(C);
    expect(leaks(() => tf.tidy(() => {
      block.forward(xt, { context: ct });
    }))).toEqual([0, 0, 0]);
    expect(leaks(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(block.forward(xt, { context: ct, training: true }).logDet) as tf.Scalar, block.trainableVariables);
      tf.dispose([value, ...Object.values(grads)]);
    })).toEqual([0, 0, 0]);
    tf.dispose([xt, ct]);
    block.dispose();
  });
});
