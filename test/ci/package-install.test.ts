/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball in a fresh folder
 * (npm's cache first: after `npm ci` every dependency is there). The install stays under 150 MB,
 * brings no tfjs umbrella, no tfjs-node and no Dawn unasked, carries the LICENSE, and works:
 * biflow's `tf` is the installed tfjs-core, with gradients, and the CLI runs quietly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../web/bundle-check.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'biflow-install-'));
const app = path.join(tmp, 'app');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: 'pipe' });

/** Bytes on disk under `dir` (files and symlinks themselves, not what links point to). */
function bytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? bytes(p) : lstatSync(p).size;
  }
  return total;
}

let installed = '';

beforeAll(() => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], root)) as { filename: string }[];
  execFileSync('mkdir', [app]);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  npm(['install', '--prefer-offline', path.join(tmp, packed[0]!.filename)], app);
  installed = path.join(app, 'node_modules');
}, 300_000);

describe('npm install of the packed tarball in a fresh folder', () => {
  it('is under 150 MB and holds neither the tfjs umbrella, tfjs-node nor Dawn', () => {
    const mb = bytes(installed) / 2 ** 20;
    console.log(`consumer install: ${mb.toFixed(1)} MiB`);
    expect(mb).toBeLessThan(150);
    for (const absent of ['@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', 'webgpu', 'core-js']) {
      expect(existsSync(path.join(installed, absent)), absent).toBe(false);
    }
    expect(readFileSync(path.join(installed, 'biflow', 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} biflow contributors/);
  });

  it("imports: biflow's tf is the app's tfjs-core, gradients work, WebGPU names its install command", () => {
    writeFileSync(path.join(app, 'check.mjs'), `
import * as tfc from '@tensorflow/tfjs-core';
import { tf, useBackend, createFlow } from 'biflow';
const info = await useBackend('auto');
const x = tfc.tensor2d([[0.5, -1], [2, 0.25]]);
const g = tf.grad((v) => tf.sum(tf.square(v)))(x);
const lp = createFlow({ type: 'nsf', dim: 2, seed: 1 }).logProb(x);
const gpu = await useBackend('webgpu').catch((e) => e.message);
console.log(JSON.stringify({ same: tf === tfc, backend: info.name, grad: Array.from(g.dataSync()), finite: Array.from(lp.dataSync()).every(Number.isFinite), gpu }));
`);
    const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n').at(-1)!) as { same: boolean; backend: string; grad: number[]; finite: boolean; gpu: string };
    expect(out.same).toBe(true);
    expect(out.backend).toBe('wasm');
    expect(out.grad).toEqual([1, -2, 4, 0.5]);
    expect(out.finite).toBe(true);
    expect(out.gpu).toMatch(/backend 'webgpu' is not available: the 'webgpu' package \(Dawn\) is not installed\. .*npm install webgpu/);
  }, 60_000);

  it("bundles for browsers from the installed package: the browser entry, with tfjs-core's gradients kept by sideEffects", async () => {
    writeFileSync(path.join(app, 'page.js'), "import { tf, createFlow } from 'biflow';\nexport const run = () => tf.grad((v) => tf.sum(createFlow({ type: 'realnvp', dim: 2 }).logProb(v)));\n");
    const { imports, modules, code } = await bundleForBrowser(app, 'page.js', path.join(tmp, 'page-dist'));
    expect(modules.some((m) => m.endsWith('node_modules/biflow/dist/src/browser.js'))).toBe(true);
    expect(imports.filter((i) => i.importer.includes('/node_modules/biflow/')).map((i) => i.id)).toEqual([]);
    expect((code.match(/gradFunc/g) ?? []).length).toBeGreaterThan(100);
  }, 120_000);

  it('the installed CLI trains and evaluates with one line of its own on stderr', () => {
    const bin = path.join(installed, '.bin', 'biflow');
    execFileSync(bin, ['train', '--data', '8gaussians', '--model', 'nice', '--iters', '2', '--batch', '16', '--hidden', '4', '--layers', '2', '--out', 'run', '--json'], { cwd: app, stdio: 'pipe' });
    const r = execFileSync(bin, ['eval', '--model', 'run', '--data', '8gaussians'], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    expect(r).toMatch(/^test NLL /);
    // execFileSync returns stdout only: run again, keeping stderr.
    const both = execFileSync('sh', ['-c', `"${bin}" eval --model run --data 8gaussians 2>&1 >/dev/null`], { cwd: app, encoding: 'utf8' });
    expect(both.trim().split('\n')).toEqual(['biflow: backend wasm; auto passed over tfjs-node-gpu, tfjs-node, webgpu (--verbose says why)']);
  }, 60_000);
});
