import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { lastJson, run } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-out-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs the CLI in-process; returns the exit status and what it wrote to stderr. */
async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (errors.push(String(s)), true));
  const code = await main(args, () => {});
  vi.restoreAllMocks();
  return { code, stderr: errors.join('') };
}
const tiny = ['--model', 'nice', '--hidden', '4', '--layers', '2', '--batch', '8', '--backend', 'cpu', '--json'];
/** A project folder: sources, a README and the data. */
function project(): { dir: string; csv: string; files: () => string } {
  const dir = mkdtempSync(path.join(root, 'project-'));
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'README.md'), '# analysis\n');
  writeFileSync(path.join(dir, 'src', 'fit.py'), 'import numpy\n');
  const csv = path.join(dir, 'data.csv');
  writeFileSync(csv, Array.from({ length: 60 }, (_, i) => `${Math.sin(i)},${Math.cos(3 * i)}`).join('\n'));
  const files = () => JSON.stringify(readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => [f, f.includes('.') ? readFileSync(path.join(dir, f), 'utf8') : '']));
  return { dir, csv, files };
}

describe('biflow train --out: never replaces what biflow did not write', () => {
  it('refuses --out data.csv (the input), a parent of the data, and a folder of sources; exit 1, every file intact', async () => {
    const p = project();
    const before = p.files();
    for (const [out, flags, message] of [
      [p.csv, [], /data\.csv is a file, not a run folder; nothing was written/],
      [p.dir, [], /holds files that are not a biflow training run \(README\.md, data\.csv, src\/fit\.py\); nothing was written/],
      [p.dir, ['--overwrite'], /holds files that are not a biflow training run/],
      [path.join(p.dir, 'src'), ['--overwrite'], /src holds files that are not a biflow training run \(fit\.py\)/],
    ] as const) {
      const r = await failing(['train', '--data', p.csv, ...tiny, '--iters', '2', '--out', out, ...flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(p.files()).toEqual(before);
    expect(readdirSync(root).filter((f) => /\.(tmp|old)-|\.lock$/.test(f))).toEqual([]);
  });

  it('refuses --out . inside a project folder before loading anything (a separate process)', () => {
    const p = project();
    const before = p.files();
    let stderr = '';
    try {
      // tsx by path: the project folder, the working directory, has no node_modules.
      execFileSync(process.execPath, ['--import', pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href, path.resolve('src/cli/main.ts'), 'train', '--data', 'data.csv', ...tiny, '--out', '.'], { cwd: p.dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = String((e as { stderr: string }).stderr);
      expect((e as { status: number }).status).toBe(1);
    }
    expect(stderr.trim()).toMatch(/^biflow train: \. holds files that are not a biflow training run \(README\.md, data\.csv, src\/fit\.py\); nothing was written\. Choose a new path or an empty folder/);
    expect(p.files()).toEqual(before);
  });

  it('an existing run: refused without a flag, replaced with --overwrite, continued with --resume', async () => {
    const out = path.join(root, 'run');
    expect((await run(['train', '--data', 'moons', ...tiny, '--iters', '4', '--out', out])).code).toBe(0);
    const again = await failing(['train', '--data', 'moons', ...tiny, '--iters', '4', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/run holds a training run \(iteration 4\); nothing was written\. Continue it with --resume/);
    const over = await run(['train', '--data', 'moons', ...tiny, '--iters', '2', '--out', out, '--overwrite']);
    expect(lastJson(over.lines).iters).toBe(2);
    const resumed = await run(['train', '--data', 'moons', '--backend', 'cpu', '--json', '--batch', '8', '--iters', '5', '--out', out, '--resume']);
    expect(lastJson(resumed.lines).iters).toBe(5);
    expect(JSON.parse(readFileSync(path.join(out, 'train.json'), 'utf8')).iter).toBe(5);
    const both = await failing(['train', '--data', 'moons', ...tiny, '--out', out, '--resume', '--overwrite']);
    expect(both.stderr).toMatch(/--overwrite cannot go with --resume/);
  });

  it('--resume refuses a flag that contradicts the saved run (--model, --hidden), and is a no-op at the saved iteration', async () => {
    const out = path.join(root, 'resume');
    expect((await run(['train', '--data', 'moons', ...tiny, '--iters', '3', '--out', out])).code).toBe(0);
    const model = await failing(['train', '--data', 'moons', '--backend', 'cpu', '--iters', '6', '--out', out, '--resume', '--model', 'nsf']);
    expect(model.code).toBe(1);
    expect(model.stderr).toMatch(/biflow train: --model is "nsf" but the run in .*resume was trained with "nice"\. --resume continues the saved model: drop --model/);
    const hidden = await failing(['train', '--data', 'moons', '--backend', 'cpu', '--iters', '6', '--out', out, '--resume', '--hidden', '8']);
    expect(hidden.stderr).toMatch(/--hidden is \[8\] but the run .* was trained with \[4\]/);
    // A CNF run: --trace given on resume is compared with the run's, whatever --model defaults to.
    const cnfRun = path.join(root, 'resume-cnf');
    expect((await run(['train', '--data', 'moons', '--model', 'ffjord', '--hidden', '4', '--iters', '1', '--batch', '8', '--solver', 'rk4', '--backend', 'cpu', '--json', '--out', cnfRun])).code).toBe(0);
    const trace = await failing(['train', '--data', 'moons', '--backend', 'cpu', '--iters', '2', '--out', cnfRun, '--resume', '--trace', 'exact']);
    expect(trace.stderr).toMatch(/--trace is "exact" but the run in .*resume-cnf was trained with "hutchinson"/);
    // Flags that agree with the run are fine.
    expect((await run(['train', '--data', 'moons', ...tiny, '--iters', '3', '--out', out, '--resume'])).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'train.json'), 'utf8')).iter).toBe(3);
  });
});
