/**
 * The harness's async forms (toleranceSweepAsync, referenceLogProbAsync, samplerReportAsync) on
 * wasm under `asIfNoSyncReads` (the WebGPU rules): the sync forms refuse there, the async forms
 * give the sync forms' numbers, and nothing leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend, createFlow, SyncReadError } from '../../src/index.js';
import { asIfNoSyncReads } from '../../src/backend/reads.js';
import { countStates, Generator } from '../../src/biflow/generator.js';
import { referenceLogProb, referenceLogProbAsync, samplerReport, samplerReportAsync, toleranceSweep, toleranceSweepAsync } from '../../src/biflow/index.js';
import { maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const rows = Float32Array.from({ length: 2 * 30 }, (_, i) => Math.sin(1.7 * i + 0.3) * 1.5);

function mixedFlow() {
  const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8], blocks: ['actnorm', 'cnf', 'spline'], seed: 3 });
  flow.bijector.trainableVariables.forEach((v, i) => v.rank > 0 && v.assign(tf.randomNormal(v.shape, 0, 0.4, 'float32', 20 + i)));
  return flow;
}

describe('the harness without synchronous reads', () => {
  it('referenceLogProbAsync and toleranceSweepAsync give the sync numbers; the sync forms name the refusal', async () => {
    const flow = mixedFlow();
    const options = { tols: [1e-3, 1e-5], solvers: ['dopri5', 'rk4'] as const, steps: [4] };
    const ref = referenceLogProb(flow, rows);
    const sync = toleranceSweep(flow, rows, { ...options, solvers: [...options.solvers] });
    const before = tf.memory().numTensors;
    const [refAsync, sweep] = await asIfNoSyncReads(async () => {
      expect(() => referenceLogProb(flow, rows)).toThrow(SyncReadError);
      expect(() => toleranceSweep(flow, rows, { ...options, solvers: [...options.solvers] })).toThrow(SyncReadError);
      return [await referenceLogProbAsync(flow, rows), await toleranceSweepAsync(flow, rows, { ...options, solvers: [...options.solvers] })] as const;
    });
    expect(tf.memory().numTensors).toBe(before);
    // The float64 reference is the same host computation on the same weights: equal to the bit.
    expect(Array.from(refAsync.logProb)).toEqual(Array.from(ref.logProb));
    expect(sweep.reference.nll).toBe(sync.reference.nll);
    expect(sweep.rows.map((r) => [r.solver, r.tol, r.steps, r.nfe])).toEqual(sync.rows.map((r) => [r.solver, r.tol, r.steps, r.nfe]));
    expect(maxDiff(sweep.rows.map((r) => r.nll), sync.rows.map((r) => r.nll))).toBeLessThan(1e-6);
    expect(maxDiff(sweep.rows.map((r) => r.pointError), sync.rows.map((r) => r.pointError))).toBeLessThan(1e-6);
    flow.dispose();
  }, 120_000);

  it('samplerReportAsync gives samplerReport’s energies, likelihoods and reconstructions', async () => {
    const flow = mixedFlow();
    flow.generator = new Generator(2, countStates(flow.bijector, 1), { interior: 1, seed: 5 });
    const options = { samples: 20, seed: 4, repeats: 1 };
    const sync = samplerReport(flow, rows, options);
    const before = tf.memory().numTensors;
    const got = await asIfNoSyncReads(async () => {
      expect(() => samplerReport(flow, rows, options)).toThrow(SyncReadError);
      return samplerReportAsync(flow, rows, options);
    });
    expect(tf.memory().numTensors).toBe(before);
    for (const key of ['energyInverse', 'energyGenerator', 'logProbInverse', 'logProbGenerator', 'reconstructionData', 'reconstructionLatent'] as const) {
      expect(got[key], key).toBeCloseTo(sync[key]!, 5);
    }
    expect(got.secondsInverse).toBeGreaterThan(0);
    flow.dispose();
  }, 120_000);
});
