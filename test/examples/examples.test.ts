/**
 * The examples' --quick modes, run in-process: each prints one JSON line last, writes PNG figures,
 * and its numbers are checked against what the mathematics says they must be.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main as boltzmann } from '../../examples/boltzmann.js';
import { lbfgs } from '../../examples/lbfgs.js';
import { main as lotkaVolterra } from '../../examples/lotka-volterra.js';
import { main as robertson } from '../../examples/robertson.js';
import { main as tabular, syntheticRows } from '../../examples/tabular.js';
import { main as sbi } from '../../examples/sbi.js';
import { gaussianMixture, twoMoons } from '../../examples/sbi-tasks.js';
import { parseNpy } from '../../src/data/index.js';

afterEach(() => vi.restoreAllMocks());

const PNG = [0x89, 0x50, 0x4e, 0x47];

/** Runs an example's main with --quick into a fresh folder; returns its result and last printed line. */
async function quick(main: (argv: string[]) => Promise<Record<string, unknown>>, extra: string[] = []) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'biflow-example-'));
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  const result = await main(['--quick', '--out', out, ...extra]);
  vi.restoreAllMocks();
  expect(JSON.parse(lines.at(-1)!)).toEqual(JSON.parse(JSON.stringify(result)));
  for (const f of result.figures as string[]) {
    expect(existsSync(f)).toBe(true);
    expect(Array.from(readFileSync(f).subarray(0, 4))).toEqual(PNG);
  }
  return result;
}

describe('examples (--quick)', () => {
  it('tabular: FFJORD and RealNVP report test NLL in data units = standardised + Σ log σ, no better than the true density', async () => {
    const r = await quick(tabular) as { logScale: number; trueTestNll: number; results: { model: string; testNll: number; testNllStandardized: number; iters: number }[] };
    expect(r.results.map((m) => m.model)).toEqual(['realnvp', 'ffjord']);
    for (const m of r.results) {
      expect(m.testNll - m.testNllStandardized).toBeCloseTo(r.logScale, 6);
      // 500 test rows: a model may beat the true density on them only by sampling noise.
      expect(m.testNll).toBeGreaterThan(r.trueTestNll - 0.3);
      expect(m.testNll).toBeLessThan(r.trueTestNll + 20);
    }
  });

  it("tabular's synthetic log-density integrates the standard normal change of variables correctly", () => {
    // Mean log p over many rows estimates −H(p); H of the chain = Σ_d (½ log 2πe + log s_d + log SCALE_d).
    const { logp } = syntheticRows(20000, 5);
    const entropy = 6 * 0.5 * Math.log(2 * Math.PI * Math.E) + Math.log(0.3) + Math.log(0.2) + [10, 0.5, 2, 0.05, 1, 300].reduce((a, s) => a + Math.log(s), 0);
    expect(-logp.reduce((a, b) => a + b, 0) / 20000).toBeCloseTo(entropy, 1);
  });

  it('boltzmann: ESS within the sample count, exact ΔF from quadrature, a finite reweighted estimate', async () => {
    const r = await quick(boltzmann) as { results: { potential: string; ess: number; samples: number; deltaF: { reweighted: number; exact: number; exactHalfGrid: number }; mcmc: { acceptance: number } }[] };
    const dw = r.results.find((x) => x.potential === 'double-well')!;
    const mb = r.results.find((x) => x.potential === 'mueller-brown')!;
    for (const x of [dw, mb]) {
      expect(x.ess).toBeGreaterThan(1);
      expect(x.ess).toBeLessThanOrEqual(x.samples);
      expect(Number.isFinite(x.deltaF.reweighted)).toBe(true);
      expect(Math.abs(x.deltaF.exact - x.deltaF.exactHalfGrid)).toBeLessThan(0.05);
      expect(x.mcmc.acceptance).toBeGreaterThan(0.2);
    }
    // The double well's ΔF ≈ the minima's energy gap (−6.63 − (−11.45) ≈ 4.8) corrected by well widths.
    expect(dw.deltaF.exact).toBeGreaterThan(4.5);
    expect(dw.deltaF.exact).toBeLessThan(5.1);
  });

  it('lotka-volterra: the adjoint + L-BFGS fit recovers the four parameters within 3 standard errors, the neural ODE lowers its error', async () => {
    const r = await quick(lotkaVolterra) as { truth: Record<string, number>; adjointFit: { params: number[]; standardErrors: number[]; nfe: number }; neuralOde: { mse: number; mseStart: number } };
    const truth = Object.values(r.truth);
    r.adjointFit.params.forEach((p, i) => {
      const se = r.adjointFit.standardErrors[i]!;
      expect(se / truth[i]!).toBeLessThan(0.2); // the data pin every parameter down
      expect(Math.abs(p - truth[i]!)).toBeLessThan(3 * se);
    });
    expect(r.adjointFit.nfe).toBeGreaterThan(0);
    expect(r.neuralOde.mse).toBeLessThan(r.neuralOde.mseStart);
  });

  it('robertson: rodas5 + the interpolating adjoint + L-BFGS recover the three rate constants from 2% noise, from a start 50–100% off', async () => {
    const r = await quick(robertson) as { truth: number[]; start: number[]; fit: { rates: number[]; nfe: number } };
    r.fit.rates.forEach((k, i) => {
      expect(Math.abs(k - r.truth[i]!) / r.truth[i]!).toBeLessThan(0.05);
      expect(Math.abs(r.start[i]! - r.truth[i]!) / r.truth[i]!).toBeGreaterThan(0.49);
    });
    expect(r.fit.nfe).toBeGreaterThan(0);
  });

  it('lbfgs minimises the Rosenbrock function to its minimum (1, 1)', () => {
    const rosen = (x: Float64Array) => ({
      f: 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2,
      g: Float64Array.of(-400 * x[0]! * (x[1]! - x[0]! ** 2) - 2 * (1 - x[0]!), 200 * (x[1]! - x[0]! ** 2)),
    });
    const r = lbfgs(rosen, [-1.2, 1], { maxIters: 200, gtol: 1e-10, ftol: 0 });
    expect(Math.abs(r.x[0]! - 1)).toBeLessThan(1e-6);
    expect(Math.abs(r.x[1]! - 1)).toBeLessThan(1e-6);
  });

  it('sbi tasks: each true posterior integrates to 1 over the prior box, and its exact sampler has the density\'s mean', () => {
    // Midpoint quadrature fine enough for the narrowest feature (σ = 0.1; the moons' ring, 0.01).
    const check = (task: typeof gaussianMixture, xo: number[], step: number) => {
      const p = task.posterior(xo);
      const [lo, hi] = task.box;
      let [mass, m0, m1] = [0, 0, 0];
      for (let a = lo + step / 2; a < hi; a += step) {
        for (let b = lo + step / 2; b < hi; b += step) {
          const w = Math.exp(p.logProb([a, b])) * step * step;
          [mass, m0, m1] = [mass + w, m0 + w * a, m1 + w * b];
        }
      }
      const s = p.sample(20000, 1);
      const mean = [0, 1].map((d) => s.reduce((acc, v, k) => (k % 2 === d ? acc + v : acc), 0) / 20000);
      return { mass, quadratureMean: [m0 / mass, m1 / mass], mean };
    };
    // Near the box's edge, where the truncation reweights the broad component.
    const gm = check(gaussianMixture, [9.4, -3], 0.01);
    expect(gm.mass).toBeCloseTo(1, 3);
    gm.mean.forEach((v, d) => expect(Math.abs(v - gm.quadratureMean[d]!)).toBeLessThan(0.02));
    const tm = check(twoMoons, [0.05, -0.1], 0.002);
    expect(tm.mass).toBeCloseTo(1, 2);
    tm.mean.forEach((v, d) => expect(Math.abs(v - tm.quadratureMean[d]!)).toBeLessThan(0.01));
  });

  it('sbi: a conditional NSF per task, KL(p‖q) ≥ 0 up to sampling noise, C2ST in (0.4, 1], the zuko reference data written', async () => {
    const r = await quick(sbi) as { figures: string[]; results: { task: string; sims: number; meanKL: number; meanC2st: number; perObservation: { kl: number; c2st: number }[] }[] };
    expect(r.results.map((t) => t.task)).toEqual(['gaussian_mixture', 'two_moons']);
    for (const t of r.results) {
      expect(t.perObservation).toHaveLength(3);
      for (const o of t.perObservation) {
        expect(o.kl).toBeGreaterThan(-0.1);
        expect(o.kl).toBeLessThan(20);
        expect(o.c2st).toBeGreaterThan(0.4);
        expect(o.c2st).toBeLessThanOrEqual(1);
      }
    }
    const out = path.dirname(r.figures[0]!);
    const sims = parseNpy('sims', readFileSync(path.join(out, 'gaussian_mixture-sims.npy')));
    expect([sims.rows, sims.dim]).toEqual([r.results[0]!.sims, 4]);
    const ref = parseNpy('ref', readFileSync(path.join(out, 'gaussian_mixture-reference.npy')));
    expect(ref.dim).toBe(3);
  }, 300_000);
});
