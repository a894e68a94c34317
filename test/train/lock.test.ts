import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, loadFlow, saveFlow, train, useBackend } from '../../src/index.js';
import { loadDataset } from '../../src/data/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `biflow train` of a tiny model in its own process, checkpointing every iteration. */
function cli(out: string, iters: number) {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'train', '--data', 'moons', '--model', 'nice', '--hidden', '4', '--layers', '2', '--batch', '8',
    '--iters', String(iters), '--checkpoint-every', '1', '--out', out, '--backend', 'cpu', '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (s: Buffer) => (stderr += String(s)));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, done };
}
const until = async (cond: () => boolean, ms = 60_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};
/** What is beside the run folder: only the run itself (no .tmp-*, .old-*, .lock). */
const beside = (out: string) => readdirSync(path.dirname(out)).filter((f) => f.startsWith(path.basename(out)));

describe('one writer per run folder, across processes', () => {
  it('a second and third `biflow train` on the same --out fail at once naming the first process; SIGINT releases the lock and leaves no leftovers', async () => {
    const out = path.join(root, 'shared');
    const first = cli(out, 1_000_000);
    await until(() => existsSync(path.join(out, 'train.json')));
    const others = [cli(out, 50), cli(out, 50)];
    for (const o of others) {
      const r = await o.done;
      expect(r.code).toBe(1);
      // One line, naming the process that holds the folder.
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^biflow train: .*shared is in use by process ${first.child.pid} \\(since [^)]*\\); nothing was written\\. Wait for it to finish`));
    }
    first.child.kill('SIGINT');
    const r = await first.done;
    expect(r.signal).toBe('SIGINT');
    expect(beside(out)).toEqual(['shared']);
    expect(readdirSync(out).sort()).toEqual(['model', 'optimizer.bin', 'train.json']);
    expect(JSON.parse(readFileSync(path.join(out, 'train.json'), 'utf8')).iter).toBeGreaterThan(0);
    (await loadFlow(out)).dispose();
  }, 120_000);

  it('three `biflow train` started together on one --out: one trains, two fail with the in-use message, nothing is left behind', async () => {
    const out = path.join(root, 'race');
    const runs = [cli(out, 150), cli(out, 150), cli(out, 150)];
    const results = await Promise.all(runs.map((r) => r.done));
    const winner = results.findIndex((r) => r.code === 0);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1, 1]);
    for (const r of results.filter((_, i) => i !== winner)) expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`is in use by process ${runs[winner]!.child.pid} `));
    expect(beside(out)).toEqual(['race']);
    expect(JSON.parse(readFileSync(path.join(out, 'train.json'), 'utf8')).iter).toBe(150);
  }, 120_000);

  it('a stale lock (its process is gone) is taken over and removed at the end', async () => {
    const out = path.join(root, 'stale');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${out}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), started: new Date(0).toISOString() }));
    const data = loadDataset('moons');
    const flow = createFlow({ type: 'nice', dim: 2, hidden: [4], layers: 2 });
    await train(flow, data, { iters: 3, batch: 8, progress: 'none', checkpointDir: out, saveModel: (d) => saveFlow(flow, d) });
    expect(beside(out)).toEqual(['stale']);
    flow.dispose();
  });

  it("an empty lock (a writer between creating and filling it) is respected while fresh, stale once old; another host's lock is respected", async () => {
    const out = path.join(root, 'empty');
    const flow = createFlow({ type: 'nice', dim: 2, hidden: [4], layers: 2 });
    const go = () => train(flow, loadDataset('moons'), { iters: 2, batch: 8, progress: 'none', checkpointDir: out, saveModel: (d) => saveFlow(flow, d) });
    writeFileSync(`${out}.lock`, '');
    await expect(go()).rejects.toThrow(/empty is in use by another process; nothing was written/);
    utimesSync(`${out}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await go();
    expect(beside(out)).toEqual(['empty']);
    const away = path.join(root, 'away');
    writeFileSync(`${away}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', started: '2026-01-01T00:00:00.000Z' }));
    await expect(train(flow, loadDataset('moons'), { iters: 2, batch: 8, progress: 'none', checkpointDir: away, saveModel: (d) => saveFlow(flow, d) }))
      .rejects.toThrow(/away is in use by process 1 on elsewhere \(since 2026-01-01T00:00:00\.000Z\); .*if no such process runs, delete .*away\.lock/);
    rmSync(`${away}.lock`);
    flow.dispose();
  });

  it('a live lock of another process is respected: train fails at once with OutputInUseError', async () => {
    const out = path.join(root, 'live');
    const owner = { pid: process.ppid, host: os.hostname(), started: new Date().toISOString() };
    writeFileSync(`${out}.lock`, JSON.stringify(owner));
    const flow = createFlow({ type: 'nice', dim: 2, hidden: [4], layers: 2 });
    const err = await train(flow, loadDataset('moons'), { iters: 3, batch: 8, progress: 'none', checkpointDir: out, saveModel: (d) => saveFlow(flow, d) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('OutputInUseError');
    expect((err as Error).message).toMatch(new RegExp(`is in use by process ${process.ppid} `));
    expect(readFileSync(`${out}.lock`, 'utf8')).toBe(JSON.stringify(owner));
    expect(existsSync(out)).toBe(false);
    rmSync(`${out}.lock`);
    flow.dispose();
  });
});
