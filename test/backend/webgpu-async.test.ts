/**
 * The async paths on WebGPU (Dawn; on CI Mesa lavapipe, `XDG_RUNTIME_DIR=/tmp`): adaptive solves,
 * a CNF's log-density and a training step's gradients match wasm; nothing grows over repeated
 * calls; the sync forms refuse with the error that names the async form. Skips without an adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf, useBackend, odeint, odeintAsync, solve, solveAsync, Dopri5, PIDController, SaveAt, createFlow, SyncReadError } from '../../src/index.js';
import type { Flow } from '../../src/index.js';
import { runDeferred } from '../../src/backend/reads.js';
import { flowMatchingObjective } from '../../src/ffjord/flow-matching.js';
import { onWebGPU } from '../webgpu-helpers.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const A = [[-0.4, 1.5], [-1.5, -0.4]];
const Y0 = [[1, 0], [0.3, -0.2], [-0.5, 0.9], [0.2, 0.7]];
const X = [[0.3, -0.1], [1.2, 0.4], [-0.7, 0.8], [0.1, 0.1], [-1.1, -0.3], [0.5, -0.9]];

async function onWebgpu(ctx: { skip: () => void }): Promise<boolean> {
  try {
    await useBackend('webgpu');
    return true;
  } catch (e) {
    console.warn(`WebGPU test skipped: ${(e as Error).message}`);
    ctx.skip();
    return false;
  }
}

afterAll(async () => {
  await useBackend('wasm');
});

describe('async solves and flows on WebGPU', () => {
  it('odeintAsync (dopri5) on webgpu takes the steps odeint takes on wasm', async (ctx) => {
    const run = async (async: boolean) => {
      const At = tf.tensor2d(A);
      const f = (_t: number, y: tf.Tensor) => tf.tanh(tf.matMul(y, At, false, true));
      const y0 = tf.tensor2d(Y0);
      // Tolerances well above float32 noise: the error estimate (a difference of nearly equal
      // stage sums) then carries little round-off, which the controller would pass on to h.
      const opts = { rtol: 1e-3, atol: 1e-4 };
      const sol = async ? await odeintAsync(f, y0, [0, 1, 2, 4], opts) : odeint(f, y0, [0, 1, 2, 4], opts);
      // Every accepted step's end time too.
      const args = { f, y0, t0: 0, t1: 4, solver: new Dopri5(), controller: new PIDController(opts), saveAt: SaveAt.steps() };
      const steps = async ? await solveAsync(args) : solve(args);
      const out = { ys: await (sol.ys[3] as tf.Tensor).data(), stats: sol.stats, times: steps.ts };
      sol.dispose();
      steps.dispose();
      tf.dispose([At, y0]);
      return out;
    };
    await useBackend('wasm');
    const ref = await run(false);
    if (!(await onWebgpu(ctx))) return;
    const got = await run(true);
    expect(got.stats).toEqual(ref.stats);
    // The same accepted steps, of the same lengths to float32 round-off (the last, cut to end at
    // t1, is what the others leave over: left out).
    expect(got.times).toHaveLength(ref.times.length);
    const h = (ts: number[]) => ts.slice(1, -1).map((t, i) => t - ts[i]!);
    const rel = Math.max(...h(got.times).map((d, i) => Math.abs(d / h(ref.times)[i]! - 1)));
    console.log(`webgpu vs wasm: ${ref.times.length - 1} accepted steps, step lengths within ${rel.toExponential(2)} (relative)`);
    expect(rel).toBeLessThan(1e-4);
    expect(maxDiff(got.ys, ref.ys)).toBeLessThan(2e-5);
    // The sync form refuses before any work, naming the async one.
    const y = tf.ones([2, 2]);
    expect(() => odeint((_t, z: tf.Tensor) => tf.neg(z), y, [0, 1])).toThrow(SyncReadError);
    expect(() => odeint((_t, z: tf.Tensor) => tf.neg(z), y, [0, 1])).toThrow(/Use odeintAsync/);
    y.dispose();
  }, 300_000);

  it("a CNF's logProbAsync and a training step's gradients (dopri5 + backsolve) match wasm; no growth over repeats", async (ctx) => {
    await useBackend('wasm');
    const flow: Flow = createFlow({ type: 'ffjord', dim: 2, hidden: [8], seed: 5 });
    const x = tf.tensor2d(X);
    const vars = flow.trainableVariables;
    const lp = flow.logProb(x);
    const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
    const ref = { lp: await lp.data(), loss: (await value.data())[0]!, grads: await Promise.all(vars.map((v) => grads[v.name]!.data())) };
    tf.dispose([lp, value, ...Object.values(grads)]);
    if (!(await onWebgpu(ctx))) return;
    expect(() => flow.logProb(x)).toThrow(SyncReadError);
    const step = async () => {
      const lp2 = await flow.logProbAsync(x);
      const r = await flow.lossAndGradsAsync(x, vars);
      const out = { lp: await lp2.data(), loss: (await r.value.data())[0]!, grads: await Promise.all(vars.map((v) => r.grads[v.name]!.data())) };
      tf.dispose([lp2, r.value, ...Object.values(r.grads)]);
      return out;
    };
    const got = await step();
    expect(maxDiff(got.lp, ref.lp)).toBeLessThan(1e-4);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-4);
    got.grads.forEach((g, i) => expect(maxDiff(g, ref.grads[i]!)).toBeLessThan(1e-3 * (1 + maxDiff(ref.grads[i]!, new Float32Array(g.length)))));
    // 20 repeats: on lavapipe one step takes about a second; growth would show within a few.
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    for (let i = 0; i < 20; i++) await step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    x.dispose();
    flow.dispose();
  }, 600_000);

  it("an ot-cfm flow-matching loss runs on webgpu through runDeferred (its pairing reads the batches by the read rules) and matches wasm", async (ctx) => {
    const value = async () => {
      const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [8, 8], seed: 4 });
      const fm = flowMatchingObjective(flow, { objective: 'ot-cfm', seed: 2 });
      const x = tf.tensor2d(X);
      const v = await runDeferred(() => fm.loss(x));
      const out = (await v.data())[0]!;
      tf.dispose([v, x]);
      flow.dispose();
      return out;
    };
    await useBackend('wasm');
    const onWasm = await value();
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const onGpu = await value();
    expect(Number.isFinite(onGpu)).toBe(true);
    expect(Math.abs(onGpu - onWasm)).toBeLessThan(1e-4 * Math.max(1, Math.abs(onWasm)));
    await useBackend('wasm');
  }, 120_000);
});
