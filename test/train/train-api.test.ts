import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, InvalidArgumentError, loadFlow, saveFlow, tf, train, useBackend } from '../../src/index.js';
import type { Dataset, Flow } from '../../src/index.js';
import { train as browserTrain } from '../../src/browser.js';
import { loadDataset } from '../../src/data/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-train-api-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = loadDataset('moons', { seed: 3 });
const held = data.test.subarray(0, 200);
const quiet = { batch: 16, lr: 5e-3, progress: 'none' as const };
const tiny = (seed = 1) => createFlow({ type: 'realnvp', dim: 2, hidden: [8], layers: 2, seed });
const weights = (f: Flow) => f.trainableVariables.map((v) => Array.from(v.dataSync()));

describe('train: callbacks, validation, early stopping, abort', () => {
  it('calls onIterationEnd every iteration and onEvaluation every evalEvery, awaiting async callbacks, with the exact validation NLL', async () => {
    const flow = tiny();
    const seen: [number, number][] = [];
    const evals: [number, number][] = [];
    let inFlight = false;
    const r = await train(flow, data, {
      iters: 12, ...quiet, logEvery: 4, validation: held, evalEvery: 5,
      callbacks: {
        // An async callback is awaited before the next iteration starts.
        onIterationEnd: async (iter, logs) => {
          expect(inFlight).toBe(false);
          inFlight = true;
          await new Promise((res) => setTimeout(res, 1));
          inFlight = false;
          seen.push([iter, logs.loss]);
        },
        onEvaluation: (iter, { validationNll }) => {
          evals.push([iter, validationNll]);
          // What the loop reports is the flow's exact NLL of those rows at that moment.
          expect(validationNll).toBe(flow.nll(held));
        },
      },
    });
    expect(seen.map(([i]) => i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(r.history.map((h) => h.iter)).toEqual([4, 8, 12]);
    expect(r.history.map((h) => h.loss)).toEqual([seen[3]![1], seen[7]![1], seen[11]![1]]);
    expect(evals.map(([i]) => i)).toEqual([5, 10, 12]);
    expect(r.evaluations).toEqual(evals.map(([iter, validationNll]) => ({ iter, validationNll })));
    expect(r).toMatchObject({ iters: 12, aborted: false, stoppedEarly: false });
    flow.dispose();
  });

  it('takes a dataset\'s validation split ({ validation })', async () => {
    const flow = tiny();
    const r = await train(flow, data, { iters: 3, ...quiet, validation: { validation: held }, evalEvery: 3 });
    expect(r.evaluations).toEqual([{ iter: 3, validationNll: flow.nll(held) }]);
    flow.dispose();
  });

  it('abort stops after the current iteration, writes the final checkpoint, resolves with aborted; resuming it ends where an uninterrupted run does', async () => {
    const straight = tiny(2);
    await train(straight, data, { iters: 10, ...quiet });
    const dir = path.join(root, 'aborted');
    const flow = tiny(2);
    const stop = new AbortController();
    const r = await train(flow, data, {
      iters: 10, ...quiet, checkpointDir: dir, saveModel: (d) => saveFlow(flow, d), signal: stop.signal,
      callbacks: { onIterationEnd: (iter) => (iter === 4 ? stop.abort() : undefined) },
    });
    expect(r).toMatchObject({ iters: 4, aborted: true, stoppedEarly: false });
    expect(r.history.at(-1)!.iter).toBe(4);
    expect(JSON.parse(readFileSync(path.join(dir, 'train.json'), 'utf8')).iter).toBe(4);
    expect(existsSync(`${dir}.lock`)).toBe(false);
    flow.dispose();
    const back = await loadFlow(dir);
    const rest = await train(back, data, { iters: 10, ...quiet, resumeFrom: dir });
    expect(rest.aborted).toBe(false);
    expect(weights(back)).toEqual(weights(straight));
    back.dispose();
    straight.dispose();
  });

  it('an already-aborted signal trains nothing and resolves at once', async () => {
    const flow = tiny();
    const before = weights(flow);
    const stop = new AbortController();
    stop.abort();
    const r = await train(flow, data, { iters: 5, ...quiet, signal: stop.signal });
    expect(r).toMatchObject({ iters: 0, aborted: true, history: [] });
    expect(weights(flow)).toEqual(before);
    flow.dispose();
  });

  it('early stopping stops after patience evaluations without improvement and restores the best weights', async () => {
    // A learning rate so high that the validation NLL soon stops improving.
    const flow = tiny(4);
    const snapshots = new Map<number, number[][]>();
    const opts = { iters: 300, ...quiet, lr: 0.05, validation: held, evalEvery: 10, earlyStopping: { patience: 2, minDelta: 0, restoreBestWeights: true } };
    const before = tf.memory().numTensors;
    const r = await train(flow, data, { ...opts, callbacks: { onEvaluation: (iter) => void snapshots.set(iter, weights(flow)) } });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stoppedEarly).toBe(true);
    expect(r.iters).toBeLessThan(300);
    const nlls = r.evaluations.map((e) => e.validationNll);
    const best = Math.min(...nlls);
    const bestIter = r.evaluations.find((e) => e.validationNll === best)!.iter;
    expect(r.bestIter).toBe(bestIter);
    // Stopped exactly `patience` evaluations after the best one.
    expect(r.evaluations.at(-1)!.iter).toBe(bestIter + 2 * 10);
    expect(r.iters).toBe(bestIter + 20);
    expect(weights(flow)).toEqual(snapshots.get(bestIter));
    expect(flow.nll(held)).toBe(best);
    flow.dispose();
  });

  it('a callback that throws ends the run with its error, leaking no tensor and no lock', async () => {
    const flow = tiny();
    const dir = path.join(root, 'throwing');
    const opts = { iters: 20, ...quiet, validation: held, evalEvery: 1, earlyStopping: { patience: 50, restoreBestWeights: true }, checkpointDir: dir, saveModel: (d: string) => saveFlow(flow, d) };
    const before = tf.memory().numTensors;
    for (let k = 0; k < 2; k++) {
      const failing = { onEvaluation: (iter: number) => { if (iter === 3) throw new Error('chart broke'); } };
      await expect(train(flow, data, { ...opts, overwrite: true, callbacks: failing })).rejects.toThrow('chart broke');
      expect(tf.memory().numTensors).toBe(before);
      expect(existsSync(`${dir}.lock`)).toBe(false);
    }
    flow.dispose();
  });

  it('rejects bad options by name before training', async () => {
    const flow = tiny();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ earlyStopping: { patience: 2 } }, /^train: earlyStopping needs validation rows to watch/],
      [{ validation: held, earlyStopping: { patience: 0 } }, /earlyStopping\.patience must be a positive integer/],
      [{ validation: new Float32Array(3) }, /validation must hold whole rows of the data's 2 columns, at least one, got 3 numbers/],
      [{ validation: [1, 2] }, /validation must be row-major rows \(a Float32Array\) or a dataset's \{ validation \} split/],
      [{ validation: held, evalEvery: 0 }, /evalEvery must be a positive integer, got 0/],
      [{ callbacks: { onEpochEnd: () => {} } }, /callbacks has "onEpochEnd", which is not one of onIterationEnd/],
      [{ callbacks: { onIterationEnd: 3 } }, /callbacks\.onIterationEnd must be a function, got 3/],
      [{ signal: {} }, /signal must be an AbortSignal/],
      [{ logEvery: 0 }, /logEvery must be a positive integer/],
    ];
    for (const [more, message] of cases) {
      const err = await train(flow, data, { iters: 2, ...quiet, ...more }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(message);
    }
    const noEvaluate = { trainableVariables: flow.trainableVariables, loss: (x: tf.Tensor2D) => flow.loss(x) };
    await expect(train(noEvaluate, data, { iters: 2, ...quiet, validation: held })).rejects.toThrow(/validation needs a model with evaluate\(rows\)/);
    flow.dispose();
  });

  it('the browser entry\'s loop trains the same as the Node one, from rows the caller provides', async () => {
    const rows: Dataset = { name: 'rows', dim: 2, batch: (i, n) => data.batch(i, n), test: held };
    const [a, b] = [tiny(5), tiny(5)];
    const ra = await train(a, rows, { iters: 6, ...quiet, logEvery: 2 });
    const rb = await browserTrain(b, rows, { iters: 6, ...quiet, logEvery: 2 });
    expect(rb.history.map((h) => h.loss)).toEqual(ra.history.map((h) => h.loss));
    expect(weights(b)).toEqual(weights(a));
    a.dispose();
    b.dispose();
  });
});
