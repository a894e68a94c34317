/**
 * odeintAsync / solveAsync and the replayed sync code (runDeferred): the same loop as the sync
 * forms, step for step, on wasm (asIfNoSyncReads puts wasm under WebGPU's rules).
 */
import { describe, expect, it } from 'vitest';
import {
  tf, odeint, odeintAsync, solve, solveAsync, Dopri5, PIDController, SaveAt, runDeferred, createFlow, SyncReadError, NonFiniteError, MaxStepsExceededError,
} from '../../src/index.js';
import { asIfNoSyncReads } from '../../src/backend/reads.js';
import { leafBlocks } from '../../src/flows/compose.js';
import { CNF } from '../../src/ffjord/cnf.js';

const A = tf.tensor2d([[-0.4, 1.5], [-1.5, -0.4]]);
const field = (_t: number, y: tf.Tensor): tf.Tensor => tf.tanh(tf.matMul(y, A, false, true));
const y0 = (): tf.Tensor => tf.tensor2d([[1, 0], [0.3, -0.2], [-0.5, 0.9]]);

describe('odeintAsync', () => {
  it('takes the same steps and gives the same states as odeint (dopri5, steps saved, events)', async () => {
    const opts = { rtol: 1e-6, atol: 1e-8 };
    const x = y0();
    const before = tf.memory().numTensors;
    const sync = solve({ f: field, y0: x, t0: 0, t1: 3, solver: new Dopri5(), controller: new PIDController(opts), saveAt: SaveAt.steps() });
    const later = await solveAsync({ f: field, y0: x, t0: 0, t1: 3, solver: new Dopri5(), controller: new PIDController(opts), saveAt: SaveAt.steps() });
    expect(later.ts).toEqual(sync.ts);
    expect(later.stats).toEqual(sync.stats);
    for (let i = 0; i < sync.ys.length; i++) expect(later.ys[i]!.dataSync()).toEqual(sync.ys[i]!.dataSync());
    sync.dispose();
    later.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // A tensor-valued event function is read by the driver: the same located time either way.
    const ev = { g: (_t: number, y: tf.Tensor) => tf.sum(tf.slice(y, [0, 0], [1, 1])), terminal: true };
    const s1 = odeint(field, x, [0, 3], { ...opts, events: [ev] });
    const s2 = await odeintAsync(field, x, [0, 3], { ...opts, events: [ev] });
    expect(s1.terminal).not.toBeNull();
    expect(s2.terminal!.t).toBe(s1.terminal!.t);
    expect(s2.stats).toEqual(s1.stats);
    s1.dispose();
    s2.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('refuses a sync adaptive solve where reads are asynchronous, naming odeintAsync, before any work', async () => {
    const x = y0();
    const before = tf.memory().numTensors;
    let calls = 0;
    const counted = (t: number, y: tf.Tensor) => (calls++, field(t, y));
    await asIfNoSyncReads(async () => {
      expect(() => odeint(counted, x, [0, 1])).toThrow(SyncReadError);
      expect(() => odeint(counted, x, [0, 1])).toThrow(/odeint: .*Use odeintAsync/);
      // fixed steps read nothing they cannot skip: they still run synchronously
      odeint(counted, x, [0, 1], { method: 'rk4', stepSize: 0.5 }).dispose();
      const sol = await odeintAsync(counted, x, [0, 1], { rtol: 1e-5, atol: 1e-6 });
      sol.dispose();
    });
    expect(calls).toBeGreaterThan(2 * 3);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('errors on the async paths', () => {
  it('a failing async solve and a failing replayed computation leave no tensors behind', async () => {
    const x = y0();
    const before = tf.memory().numTensors;
    const nan = (t: number, y: tf.Tensor) => (t > 0.3 ? tf.mul(y, NaN) : field(t, y));
    for (let rep = 0; rep < 2; rep++) {
      await expect(odeintAsync(nan, x, [0, 1], { rtol: 1e-5, atol: 1e-6 })).rejects.toThrow(NonFiniteError);
      const e = await odeintAsync(field, x, [0, 1], { rtol: 1e-9, atol: 1e-9, maxSteps: 3 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(MaxStepsExceededError);
      // Its partial solution is the caller's, as for odeint.
      (e as MaxStepsExceededError<{ dispose(): void }>).partial.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [4], seed: 1 });
    const vars = flow.trainableVariables;
    const bad = tf.zeros([2, 3]) as tf.Tensor2D;
    const start = tf.memory().numTensors;
    await asIfNoSyncReads(async () => {
      // fails in the last attempt, after the attempts that awaited reads and solves were undone
      const late = () => tf.variableGrads(() => {
        flow.loss(x as tf.Tensor2D);
        throw new Error('late');
      }, vars);
      await expect(runDeferred(late)).rejects.toThrow('late');
      await expect(flow.logProbAsync(bad)).rejects.toThrow(/must be a \[N, 2\] tensor/);
    });
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([bad, x]);
    flow.dispose();
  }, 60_000);
});

describe('runDeferred (sync code on asynchronous reads)', () => {
  it("gives a CNF's log-density and one training step's gradients exactly as the sync path, without leaks", async () => {
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [8], seed: 3 });
    const x = tf.tensor2d([[0.3, -0.1], [1.2, 0.4], [-0.7, 0.8], [0.1, 0.1]]);
    const vars = flow.trainableVariables;
    const lp = flow.logProb(x);
    const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
    const ref = { lp: lp.dataSync().slice(), loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!.dataSync().slice()) };
    tf.dispose([lp, value, ...Object.values(grads)]);
    const before = tf.memory().numTensors;
    await asIfNoSyncReads(async () => {
      for (let rep = 0; rep < 3; rep++) {
        const lp2 = await flow.logProbAsync(x);
        expect(lp2.dataSync()).toEqual(ref.lp);
        lp2.dispose();
        const r = await flow.lossAndGradsAsync(x, vars);
        // float32 round-off at most: the replayed tape is the same tape
        expect(r.value.dataSync()[0]).toBe(ref.loss);
        vars.forEach((v, i) => expect(r.grads[v.name]!.dataSync()).toEqual(ref.grads[i]));
        tf.dispose([r.value, ...Object.values(r.grads)]);
      }
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(await runDeferred(() => 7)).toBe(7);
    x.dispose();
    flow.dispose();
  }, 60_000);

  it('a replayed training step draws the Hutchinson probe the first attempt drew: the same loss and gradients as the sync step, and the probe counter ends where the sync one does', async () => {
    const make = () => createFlow({ type: 'ffjord', dim: 2, hidden: [8], seed: 3, cnf: { trace: 'hutchinson' } });
    const x = tf.tensor2d([[0.3, -0.1], [1.2, 0.4], [-0.7, 0.8], [0.1, 0.1]]);
    const cnfOf = (f: ReturnType<typeof make>) => leafBlocks(f.bijector).find((blk) => blk instanceof CNF)!;
    const a = make();
    const { value, grads } = tf.variableGrads(() => a.loss(x), a.trainableVariables);
    const ref = { loss: value.dataSync()[0]!, grads: a.trainableVariables.map((v) => grads[v.name]!.dataSync().slice()), probes: cnfOf(a).probeState };
    tf.dispose([value, ...Object.values(grads)]);
    const b = make();
    await asIfNoSyncReads(async () => {
      const r = await b.lossAndGradsAsync(x, b.trainableVariables);
      expect(r.value.dataSync()[0]).toBe(ref.loss);
      b.trainableVariables.forEach((v, i) => expect(r.grads[v.name]!.dataSync()).toEqual(ref.grads[i]));
      tf.dispose([r.value, ...Object.values(r.grads)]);
    });
    expect(cnfOf(b).probeState).toBe(ref.probes);
    x.dispose();
    a.dispose();
    b.dispose();
  }, 60_000);
});
