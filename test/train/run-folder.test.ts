import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointFileError, createFlow, InvalidArgumentError, loadFlow, OutputInUseError, OutputPathError, saveFlow, tf, train, useBackend } from '../../src/index.js';
import type { Flow, TrainOptions } from '../../src/index.js';
import { loadDataset } from '../../src/data/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-runs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(root, `case-${n++}`);

const data = loadDataset('moons', { seed: 1 });
const quiet = { batch: 8, progress: 'none' as const, logEvery: 2 };
const tiny = () => createFlow({ type: 'nice', dim: 2, hidden: [4], layers: 2, seed: 1 });
/** A flow whose loss counts its calls, to show a refusal comes before any training. */
function counting(flow: Flow) {
  let calls = 0;
  return { model: { trainableVariables: flow.trainableVariables, loss: (x: tf.Tensor2D) => (calls++, flow.loss(x)) }, calls: () => calls };
}
const run = (flow: Flow, dir: string, more: Partial<TrainOptions> = {}) =>
  train(flow, data, { iters: 4, ...quiet, checkpointDir: dir, saveModel: (d) => saveFlow(flow, d), ...more });
/** Every path under `dir` with its bytes, to show that nothing was touched. */
const snapshot = (dir: string): Record<string, string> => Object.fromEntries(
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => {
    const p = path.join(dir, f);
    return [f, statSync(p).isDirectory() ? '<dir>' : readFileSync(p, 'base64')];
  }));

describe('the save rule for run folders', () => {
  it('refuses a folder with other files, a regular file and the data file, before training, touching nothing', async () => {
    const flow = tiny();
    const project = fresh();
    mkdirSync(path.join(project, 'src'), { recursive: true });
    writeFileSync(path.join(project, 'README.md'), '# my project\n');
    writeFileSync(path.join(project, 'src', 'main.py'), 'print(1)\n');
    writeFileSync(path.join(project, 'data.csv'), '1,2\n3,4\n');
    const before = snapshot(project);
    const cases: [string, RegExp][] = [
      [project, /holds files that are not a biflow training run \(README\.md, data\.csv, src\/main\.py\); nothing was written/],
      [path.join(project, 'data.csv'), /data\.csv is a file, not a run folder; nothing was written/],
      [path.join(project, 'src'), /holds files that are not a biflow training run \(main\.py\)/],
    ];
    for (const [dir, message] of cases) {
      const c = counting(flow);
      const err = await train(c.model, data, { iters: 4, ...quiet, checkpointDir: dir, saveModel: (d) => saveFlow(flow, d), overwrite: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutputPathError);
      expect((err as Error).message).toMatch(message);
      expect(c.calls()).toBe(0);
    }
    expect(snapshot(project)).toEqual(before);
    expect(readdirSync(path.dirname(project)).filter((f) => f.startsWith(path.basename(project)))).toEqual([path.basename(project)]);
    flow.dispose();
  });

  it('an existing run is replaced only with overwrite, continued only with resumeFrom', async () => {
    const dir = fresh();
    const flow = tiny();
    await run(flow, dir, { iters: 6 });
    const saved = snapshot(dir);
    const err = await run(flow, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputPathError);
    expect((err as Error).message).toMatch(/holds a training run \(iteration 6\); nothing was written\. Continue it with --resume .*replace it with --overwrite/);
    expect(snapshot(dir)).toEqual(saved);
    await run(flow, dir, { overwrite: true, iters: 2 });
    expect(JSON.parse(readFileSync(path.join(dir, 'train.json'), 'utf8')).iter).toBe(2);
    // A run with a file the user added is no longer only biflow's: refused even with overwrite.
    writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    await expect(run(flow, dir, { overwrite: true })).rejects.toThrow(/holds a run but also files biflow did not write \(notes\.txt\)/);
    await expect(run(flow, dir, { resumeFrom: dir, iters: 4 })).rejects.toThrow(OutputPathError);
    expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    flow.dispose();
  });

  it('an empty folder or a new path is fine, and nothing but the run is left beside it', async () => {
    const dir = fresh();
    mkdirSync(dir);
    const flow = tiny();
    await run(flow, dir, { checkpointEvery: 1 });
    expect(readdirSync(root).filter((f) => f.startsWith(path.basename(dir)))).toEqual([path.basename(dir)]);
    expect(readdirSync(dir).sort()).toEqual(['model', 'optimizer.bin', 'train.json']);
    (await loadFlow(dir)).dispose();
    flow.dispose();
  });

  it('a failed checkpoint leaves no temporary folder and no lock, and the previous checkpoint intact', async () => {
    const dir = fresh();
    const flow = tiny();
    await run(flow, dir);
    const saved = snapshot(dir);
    let calls = 0;
    const failing = (d: string) => (++calls === 2 ? Promise.reject(new Error('disk full')) : saveFlow(flow, d));
    await expect(run(flow, dir, { overwrite: true, checkpointEvery: 1, saveModel: failing })).rejects.toThrow('disk full');
    expect(readdirSync(root).filter((f) => f.startsWith(path.basename(dir)))).toEqual([path.basename(dir)]);
    expect(JSON.parse(readFileSync(path.join(dir, 'train.json'), 'utf8')).iter).toBe(1);
    expect(Object.keys(snapshot(dir))).toEqual(Object.keys(saved));
    flow.dispose();
  });

  it('a second writer in the same process is refused while the first holds the lock', async () => {
    const dir = fresh();
    const [a, b] = [tiny(), tiny()];
    const first = run(a, dir, { iters: 30, checkpointEvery: 1 });
    while (!existsSync(`${dir}.lock`)) await new Promise((r) => setTimeout(r, 1));
    const err = await run(b, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputInUseError);
    expect((err as Error).message).toMatch(new RegExp(`is in use by process ${process.pid} \\(since .*\\); nothing was written`));
    await first;
    expect(existsSync(`${dir}.lock`)).toBe(false);
    a.dispose();
    b.dispose();
  });
});

describe('resuming a damaged or mismatched run', () => {
  /** A finished 4-iteration run, damaged by `damage`; resuming it must fail naming the file. */
  async function damaged(damage: (dir: string) => void): Promise<unknown> {
    const dir = fresh();
    const flow = tiny();
    await run(flow, dir);
    damage(dir);
    const before = tf.memory().numTensors;
    const err = await run(flow, dir, { resumeFrom: dir, iters: 8 }).catch((e: unknown) => e);
    expect(tf.memory().numTensors).toBe(before);
    expect(existsSync(`${dir}.lock`)).toBe(false);
    flow.dispose();
    return err;
  }
  const edit = (f: (s: Record<string, unknown>) => void) => (dir: string) => {
    const file = path.join(dir, 'train.json');
    const s = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    f(s);
    writeFileSync(file, JSON.stringify(s));
  };
  const truncate = (name: string, bytes: number) => (dir: string) => writeFileSync(path.join(dir, name), readFileSync(path.join(dir, name)).subarray(0, bytes));

  it.each([
    ['a truncated train.json', truncate('train.json', 30), /train\.json: is not valid JSON/],
    ['iter -5', edit((s) => (s.iter = -5)), /train\.json: has iter -5, not a non-negative integer/],
    ['iter "abc"', edit((s) => (s.iter = 'abc')), /train\.json: has iter "abc", not a non-negative integer/],
    ['a history that is not a list', edit((s) => (s.history = {})), /train\.json: has a history that is not a list/],
    ['no adam record', edit((s) => delete s.adam), /train\.json: has no valid adam record/],
    ['a moment of negative size', edit((s) => ((s.adam as { specs: { shape: number[] }[] }).specs[0]!.shape = [-3])), /train\.json: has no valid adam record/],
    ['an optimizer step that is not the iteration', edit((s) => ((s.adam as { step: number }).step = 2)), /train\.json: has adam\.step 2 but iter 4/],
    ['a truncated optimizer.bin', truncate('optimizer.bin', 10), /optimizer\.bin: holds 10 bytes where train\.json describes \d+/],
    ['a missing optimizer.bin', (dir: string) => rmSync(path.join(dir, 'optimizer.bin')), /optimizer\.bin: cannot be read \(ENOENT\)/],
  ] as const)('%s: a CheckpointFileError naming the file, no tensor leaked, no lock left', async (_, damage, message) => {
    const err = await damaged(damage);
    expect(err).toBeInstanceOf(CheckpointFileError);
    expect((err as Error).message).toMatch(message);
  });

  it('resuming with another model than the run\'s is a CheckpointFileError naming optimizer.bin, leaking nothing', async () => {
    const dir = fresh();
    const flow = tiny();
    await run(flow, dir);
    const other = createFlow({ type: 'realnvp', dim: 2, hidden: [4], layers: 2 });
    const before = tf.memory().numTensors;
    const err = await run(other, dir, { resumeFrom: dir, iters: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointFileError);
    expect((err as Error).message).toMatch(/optimizer\.bin: holds \d+ moments where the model's \d+ variables need \d+\. Resume it with the model it was trained with/);
    expect(tf.memory().numTensors).toBe(before);
    [flow, other].forEach((f) => f.dispose());
  });

  it('iters below the run is an error; equal to it, a no-op that writes nothing', async () => {
    const dir = fresh();
    const flow = tiny();
    await run(flow, dir, { iters: 6 });
    const saved = snapshot(dir);
    const err = await run(flow, dir, { resumeFrom: dir, iters: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/train: iters is below the 6 iterations the run in .* has done, got 3/);
    const lines: string[] = [];
    const same = await run(flow, dir, { resumeFrom: dir, iters: 6, progress: 'lines', write: (s) => lines.push(s) });
    expect(same.iters).toBe(6);
    expect(same.history.at(-1)!.iter).toBe(6);
    expect(lines.join('')).toMatch(/is already at iteration 6 of 6; nothing to train/);
    expect(snapshot(dir)).toEqual(saved);
    flow.dispose();
  });

  it('leaks no tensor across repeated checkpoint and resume cycles', async () => {
    const dir = fresh();
    const flow = tiny();
    await run(flow, dir, { iters: 2, checkpointEvery: 1 });
    const before = tf.memory().numTensors;
    for (let k = 1; k <= 3; k++) await run(flow, dir, { resumeFrom: dir, iters: 2 + 3 * k, checkpointEvery: 1 });
    expect(tf.memory().numTensors).toBe(before);
    flow.dispose();
  });
});
