/**
 * Exact by default: a CNF configured (or trained) with Hutchinson's estimator still reports exact
 * log-densities from logProb / nll / densityGrid / sampleAndLogProb and the CLI; the estimate is
 * there on request, deterministic for a seed; the training loss keeps the training estimator.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFlow, loadFlow, tf, useBackend, cnfForward64, CNF, InvalidArgumentError } from '../../src/index.js';
import type { Flow } from '../../src/index.js';
import { referenceLogProb } from '../../src/biflow/tolerance.js';
import { loadDataset } from '../../src/data/index.js';
import { lastJson, run } from '../cli/run-cli.js';
import { gridMass, leaks, maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});
afterEach(() => vi.restoreAllMocks());

/** A 2-D FFJORD flow that trains with Hutchinson's estimator, with random weights of scale `sd` (a strongly bending field). */
function hutchinsonFlow(sd = 1): Flow {
  const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [16, 16], seed: 3, cnf: { trace: 'hutchinson', rtol: 1e-6, atol: 1e-6 } });
  flow.trainableVariables.forEach((v, i) => {
    if (v.rank > 0) v.assign(tf.randomNormal(v.shape, 0, sd, 'float32', 40 + i));
  });
  return flow;
}

const cnfOf = (flow: Flow) => flow.bijector instanceof CNF ? flow.bijector : ((flow.bijector as unknown as { blocks: CNF[] }).blocks[0]!);
const POINTS = [[0.3, -0.5], [1.2, 0.7], [-1, 2], [0, 0], [2.5, -1.5]];

/** log p of the rows by the float64 reference solve (dopri8 at 1e-10). */
function logProb64(flow: Flow, rows: number[][]): number[] {
  const { z, logDet } = cnfForward64(cnfOf(flow), rows.flat());
  return rows.map((_, i) => -Math.log(2 * Math.PI) - 0.5 * (z[2 * i]! ** 2 + z[2 * i + 1]! ** 2) + logDet[i]!);
}

describe('exact by default', () => {
  it('logProb of a Hutchinson-trained CNF repeats exactly and matches the float64 reference', () => {
    const flow = hutchinsonFlow();
    const x = tf.tensor2d(POINTS);
    const a = Array.from(flow.logProb(x).dataSync());
    const b = Array.from(flow.logProb(x).dataSync());
    expect(b).toEqual(a);
    // Before: the training estimator's noise, 0.04 nats between two calls and against float64.
    expect(maxDiff(a, logProb64(flow, POINTS))).toBeLessThan(1e-4);
    expect(leaks(() => flow.logProb(x))).toEqual([0, 0, 0]);
    x.dispose();
    flow.dispose();
  });

  it('the density of a Hutchinson-trained CNF integrates to one (it came out 1.074 with the estimator)', () => {
    const flow = hutchinsonFlow();
    expect(Math.abs(gridMass(flow, 8, 81) - 1)).toBeLessThan(5e-3);
    // densityGrid is exact too: its cell sum matches the same quadrature.
    const n = 60;
    const cell = (16 / n) ** 2;
    const mass = flow.densityGrid([-8, 8, -8, 8], n).reduce((s, p) => s + p, 0) * cell;
    expect(Math.abs(mass - 1)).toBeLessThan(5e-3);
    flow.dispose();
  });

  it('sampleAndLogProb and nll report the exact log-density', () => {
    const flow = hutchinsonFlow(0.6);
    const { x, logProb } = flow.sampleAndLogProb(5, { seed: 4 });
    const rows = x.arraySync();
    expect(maxDiff(logProb.dataSync(), logProb64(flow, rows))).toBeLessThan(1e-3);
    const nll = flow.nll(Float32Array.from(POINTS.flat()));
    const ref = -logProb64(flow, POINTS).reduce((s, v) => s + v, 0) / POINTS.length;
    expect(Math.abs(nll - ref)).toBeLessThan(1e-4);
    tf.dispose([x, logProb]);
    flow.dispose();
  });

  it("{ trace: 'hutchinson', seed } is deterministic per seed, differs across seeds, and averages to the exact value", () => {
    const flow = hutchinsonFlow(0.6);
    const x = tf.tensor2d([POINTS[1]!]);
    const at = (seed: number) => flow.logProb(x, { trace: 'hutchinson', seed }).dataSync()[0]!;
    expect(at(7)).toBe(at(7));
    expect(at(8)).not.toBe(at(7));
    const exact = flow.logProb(x).dataSync()[0]!;
    const K = 200;
    const est = Array.from({ length: K }, (_, s) => at(s));
    const mean = est.reduce((a, b) => a + b, 0) / K;
    const sd = Math.sqrt(est.reduce((a, b) => a + (b - mean) ** 2, 0) / (K - 1));
    expect(sd).toBeGreaterThan(1e-3);
    expect(Math.abs(mean - exact)).toBeLessThan((4 * sd) / Math.sqrt(K));
    expect(() => flow.logProb(x, { trace: 'bogus' as never })).toThrow(InvalidArgumentError);
    expect(() => flow.logProb(x, { seed: 1.5 })).toThrow(/Flow\.logProb: seed must be an integer/);
    x.dispose();
    flow.dispose();
  });

  it('the training loss keeps the training estimator: a fresh Hutchinson probe per step', () => {
    const flow = hutchinsonFlow(0.6);
    const x = tf.tensor2d(POINTS);
    const loss = () => tf.tidy(() => flow.loss(x).dataSync()[0]!);
    const exactNll = -tf.tidy(() => tf.mean(flow.logProb(x)).dataSync()[0]!);
    const l1 = loss();
    const l2 = loss();
    expect(l1).not.toBe(l2);
    expect(l1).not.toBe(exactNll);
    // An exact-trained CNF's loss is the exact NLL.
    const exact = createFlow({ type: 'ffjord', dim: 2, hidden: [16, 16], seed: 3, cnf: { trace: 'exact', rtol: 1e-6, atol: 1e-6 } });
    exact.trainableVariables.forEach((v, i) => v.assign(flow.trainableVariables[i]!));
    expect(Math.abs(tf.tidy(() => exact.loss(x).dataSync()[0]!) - exactNll)).toBeLessThan(1e-5);
    tf.dispose(x);
    exact.dispose();
    flow.dispose();
  });

  it('the CLI eval of a Hutchinson-trained model reports the exact test NLL', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-exact-')), 'run');
    const t = await run(['train', '--data', '8gaussians', '--model', 'ffjord', '--trace', 'hutchinson', '--iters', '3', '--batch', '32', '--hidden', '8,8', '--out', dir, '--backend', 'wasm', '--json']);
    expect(t.code).toBe(0);
    const e = await run(['eval', '--model', dir, '--data', '8gaussians', '--backend', 'wasm', '--json']);
    expect(e.code).toBe(0);
    const flow = await loadFlow(path.join(dir, 'model'));
    const test = loadDataset('8gaussians', { seed: 0 }).test;
    const ref = referenceLogProb(flow, test, { tol: 1e-8 }).logProb;
    const refNll = -ref.reduce((s, v) => s + v, 0) / ref.length;
    expect(Math.abs((lastJson(e.lines).testNll as number) - refNll)).toBeLessThan(1e-4);
    expect(Math.abs((lastJson(t.lines).testNll as number) - refNll)).toBeLessThan(1e-4);
    // The loaded model, whose CNF trains with Hutchinson's estimator, gives the exact log p per point.
    expect((flow.bijector as unknown as { blocks: CNF[] }).blocks[0]!.trace).toBe('hutchinson');
    const x = tf.tensor2d(test.subarray(0, 40), [20, 2]);
    const lp = Array.from(flow.logProb(x).dataSync());
    expect(Array.from(flow.logProb(x).dataSync())).toEqual(lp);
    expect(maxDiff(lp, ref.subarray(0, 20))).toBeLessThan(1e-3);
    x.dispose();
    flow.dispose();
  });
});
