/**
 * `npm run bench:browser` — training iterations per second of the playground's models in headless
 * Chromium (wasm, and WebGL/WebGPU where the browser offers them) next to Node on the same
 * machine, same model, same batch, same loop (one Adam step, then read the loss). Prints a table
 * and writes bench/results/browser-<date>.json. Needs /usr/bin/chromium (or BIFLOW_CHROMIUM).
 *   npm run bench:browser -- --iters=30
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { createFlow, tf, toyData, useBackend } from '../src/index.js';
import type { FlowConfig } from '../src/index.js';
import { serveStatic } from '../test/web/serve.js';

const root = path.resolve(import.meta.dirname, '..');
const iters = Number(process.argv.find((a) => a.startsWith('--iters='))?.slice(8) ?? 30);
const batch = 256;
/** The playground's URL knobs and the registry configuration they build (web/src/trainer.ts). */
const MODELS: { name: string; query: string; config: FlowConfig }[] = [
  { name: 'ffjord [32,32,32] dopri5 1e-3 hutchinson', query: 'model=ffjord&hidden=32,32,32&solver=dopri5&tol=1e-3&trace=hutchinson', config: { type: 'ffjord', dim: 2, hidden: [32, 32, 32], cnf: { method: 'dopri5', rtol: 1e-3, atol: 1e-3, trace: 'hutchinson' } } },
  { name: 'realnvp [32,32]', query: 'model=realnvp&hidden=32,32', config: { type: 'realnvp', dim: 2, hidden: [32, 32] } },
];
declare const window: { __biflow: { ready: boolean; running: boolean; iterations: number; backend: string; itersPerSecond: number | null; error: string | null } };
type Row = { platform: string; backend: string; model: string; batch: number; iters: number; itersPerSecond: number | null; note?: string };

async function nodeRate(config: FlowConfig): Promise<number> {
  const flow = createFlow(config);
  const opt = tf.train.adam(0.005);
  let seconds = 0;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const x = tf.tensor2d(toyData('8gaussians', batch, 1 + i), [batch, 2]);
    if (i === 0) flow.initialize(x);
    const loss = opt.minimize(() => flow.loss(x), true, flow.trainableVariables)!;
    await loss.data();
    tf.dispose([x, loss]);
    seconds += (performance.now() - t0) / 1000;
  }
  opt.dispose();
  flow.dispose();
  return iters / seconds;
}

const rows: Row[] = [];
const dist = mkdtempSync(path.join(tmpdir(), 'biflow-web-'));
await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } });
const server = await serveStatic(dist);
const browser = await chromium.launch({
  executablePath: process.env.BIFLOW_CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const version = browser.version();

/** One run of the playground on `backend`: its training rate, or why the backend is not offered. */
async function browserRow(backend: string, m: (typeof MODELS)[number]): Promise<Row> {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}?backend=${backend}&${m.query}&batch=${batch}&iters=${iters}&drawEvery=100000&autostart=1`);
    await page.waitForFunction(() => window.__biflow?.ready, null, { timeout: 60_000 });
    const first = await page.evaluate(() => ({ ...window.__biflow }));
    if (first.backend !== backend) return { platform: `chromium ${version}`, backend, model: m.name, batch, iters, itersPerSecond: null, note: first.error ?? 'not offered' };
    await page.waitForFunction((n) => window.__biflow.iterations >= n && !window.__biflow.running, iters, { timeout: 600_000 });
    const s = await page.evaluate(() => ({ ...window.__biflow }));
    const renderer = await page.getByTestId('backend').textContent();
    return { platform: `chromium ${version}`, backend: renderer ?? backend, model: m.name, batch, iters, itersPerSecond: s.itersPerSecond };
  } finally {
    await page.close();
  }
}

// Node and the browser's wasm alternate, twice, so that load from other processes hits both alike.
await useBackend('wasm');
for (let rep = 0; rep < 2; rep++) {
  for (const m of MODELS) {
    rows.push({ platform: `node ${process.version}`, backend: 'wasm', model: m.name, batch, iters, itersPerSecond: await nodeRate(m.config) });
    rows.push(await browserRow('wasm', m));
  }
}
for (const backend of ['webgl', 'webgpu']) for (const m of MODELS) rows.push(await browserRow(backend, m));
await browser.close();
await server.close();
rmSync(dist, { recursive: true, force: true });

console.log('| platform | backend | model | batch | it/s |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.platform} | ${r.backend} | ${r.model} | ${r.batch} | ${r.itersPerSecond?.toFixed(2) ?? `– (${r.note})`} |`);
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const file = path.join(root, `bench/results/browser-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), iters, rows }, null, 2)}\n`);
console.log(`wrote ${path.relative(root, file)}`);
