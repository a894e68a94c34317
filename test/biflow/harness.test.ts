import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend, createFlow, InvalidArgumentError } from '../../src/index.js';
import { energyDistance, problemSweep, referenceLogProb, toleranceSweep } from '../../src/biflow/index.js';
import { CNF, cnfField64 } from '../../src/ffjord/index.js';
import { LAYER_KINDS } from '../../src/nn/index.js';
import { HIRES, VAN_DER_POL } from '../../src/ode/index.js';
import { maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
/** E|W| for W ~ N(μ, σ²). */
const meanAbs = (mu: number, s: number) => s * Math.sqrt(2 / Math.PI) * Math.exp(-(mu * mu) / (2 * s * s)) + mu * erf(mu / (s * Math.SQRT2));

/** Deterministic normal draws (Box–Muller on a linear congruential generator). */
function normals(n: number, seed: number, shift = 0): Float64Array {
  let s = seed;
  const u = () => ((s = (s * 1664525 + 1013904223) % 4294967296) + 0.5) / 4294967296;
  return Float64Array.from({ length: n }, () => shift + Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

describe('energy distance', () => {
  it('matches the closed form for two unit Gaussians a distance μ apart (1-D)', () => {
    for (const mu of [0.5, 1.5]) {
      const exact = 2 * meanAbs(mu, Math.SQRT2) - 2 * meanAbs(0, Math.SQRT2);
      const est = energyDistance(normals(2000, 1), normals(2000, 2, mu), 1);
      expect(Math.abs(est - exact)).toBeLessThan(0.1 * exact);
    }
  });

  it('is symmetric, translation-invariant and near zero for two samples of one law', () => {
    const a = normals(600, 3);
    const b = normals(600, 4);
    expect(energyDistance(a, b, 2)).toBeCloseTo(energyDistance(b, a, 2), 12);
    expect(energyDistance(a.map((v) => v + 5), b.map((v) => v + 5), 2)).toBeCloseTo(energyDistance(a, b, 2), 9);
    expect(Math.abs(energyDistance(a, b, 2))).toBeLessThan(0.02);
  });

  it('rejects samples that are not whole rows', () => {
    expect(() => energyDistance([1, 2, 3], [1, 2], 2)).toThrow(InvalidArgumentError);
  });
});

describe('the float64 CNF field (reference of the tolerance harness)', () => {
  it.each(LAYER_KINDS)('agrees with the float32 net and its exact trace for %s layers', (layer) => {
    const cnf = new CNF({ dim: 3, hidden: [8, 8], layer, activation: layer === 'concat' ? 'softplus' : 'tanh' });
    cnf.net.variables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 100 + i)));
    const z = [[0.3, -0.8, 1.1], [-1.2, 0.4, 0.2]];
    const t = 0.37;
    const f = cnfField64(cnf, 2);
    const dy = new Float64Array(8);
    f(t, Float64Array.from([...z.flat(), 0, 0]), dy);
    const f32 = tf.tidy(() => cnf.net.apply(t, tf.tensor2d(z)).dataSync());
    // Exact trace in float32 by autodiff, one basis vector at a time.
    const trace = [0, 0];
    for (let i = 0; i < 3; i++) {
      const col = tf.tidy(() => tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(cnf.net.apply(t, zz), tf.oneHot([i, i], 3))))(tf.tensor2d(z)).dataSync());
      trace[0] += col[i]!;
      trace[1] += col[3 + i]!;
    }
    expect(maxDiff(dy.subarray(0, 6), f32)).toBeLessThan(1e-5);
    expect(maxDiff(dy.subarray(6), trace)).toBeLessThan(1e-4);
    cnf.dispose();
  });

  it('gives a mixed stack the same log-likelihoods as the float32 solve at a tight tolerance', () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8], blocks: ['actnorm', 'cnf', 'spline', 'cnf'], cnf: { rtol: 1e-7, atol: 1e-7 } });
    flow.bijector.trainableVariables.forEach((v, i) => v.rank > 0 && v.assign(tf.randomNormal(v.shape, 0, 0.4, 'float32', 7 + i)));
    const rows = Float32Array.from(normals(40, 9));
    const ref = referenceLogProb(flow, rows);
    const lp = tf.tidy(() => flow.logProb(tf.tensor2d(rows, [20, 2])).dataSync());
    expect(maxDiff(ref.logProb, lp)).toBeLessThan(2e-4);
    expect(ref.nfe).toBeGreaterThan(0);
    flow.dispose();
  });
});

describe('the tolerance sweep', () => {
  it('errors fall as tolerances tighten and fixed steps shrink, and the blocks get their solver back', () => {
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [16, 16], cnf: { T: 1, trainT: false, method: 'tsit5', rtol: 3e-4, atol: 3e-4 } });
    flow.bijector.trainableVariables.forEach((v, i) => v.rank === 2 && v.assign(tf.randomNormal(v.shape, 0, 1.2, 'float32', 50 + i)));
    const rows = Float32Array.from(normals(200, 11));
    const out = toleranceSweep(flow, rows, { tols: [1e-2, 1e-4, 1e-6], solvers: ['dopri5', 'rk4'], steps: [2, 8, 32] });
    expect(out.rows).toHaveLength(6);
    const dopri = out.rows.filter((r) => r.solver === 'dopri5');
    const rk4 = out.rows.filter((r) => r.solver === 'rk4');
    expect(dopri[0]!.pointError).toBeGreaterThan(10 * dopri[2]!.pointError);
    expect(rk4[0]!.pointError).toBeGreaterThan(10 * rk4[2]!.pointError);
    expect(rk4.map((r) => r.nfe)).toEqual([8, 32, 128]);
    expect(dopri[2]!.nfe).toBeGreaterThan(dopri[0]!.nfe);
    const cnf = (flow.bijector as unknown as { blocks: CNF[] }).blocks[0]!;
    expect(cnf.getConfig()).toMatchObject({ method: 'tsit5', rtol: 3e-4, atol: 3e-4 });
    expect(() => toleranceSweep(createFlow({ type: 'nice', dim: 2 }), rows)).toThrow(/toleranceSweep: flow/);
    flow.dispose();
  });

  it('on the classic problems, dopri5’s error falls with the tolerance (Van der Pol)', () => {
    const rows = problemSweep({ problems: [VAN_DER_POL], tols: [1e-3, 1e-6, 1e-9], solvers: ['dopri5'] });
    const errors = rows.map((r) => r.error!);
    expect(errors[0]).toBeGreaterThan(errors[1]!);
    expect(errors[1]).toBeGreaterThan(errors[2]!);
    expect(errors[2]).toBeLessThan(1e-7);
  });

  it('sweeps the stiff problems with the stiff methods (HIRES), against a rodas5 reference', () => {
    const rows = problemSweep({ problems: [HIRES], tols: [1e-4, 1e-8], solvers: ['rodas5', 'kvaerno5'] });
    expect(rows.map((r) => [r.solver, r.tol])).toEqual([['rodas5', 1e-4], ['rodas5', 1e-8], ['kvaerno5', 1e-4], ['kvaerno5', 1e-8]]);
    for (const solver of ['rodas5', 'kvaerno5']) {
      const [loose, tight] = rows.filter((r) => r.solver === solver);
      expect(loose!.error!).toBeGreaterThan(tight!.error!);
      expect(tight!.error!).toBeLessThan(1e-8);
    }
  });
});
