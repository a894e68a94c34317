/**
 * The playground in a real browser: Debian's chromium driven by playwright-core against the built
 * static files served on localhost. Skips, saying why, where /usr/bin/chromium is missing
 * (.ci/run installs it). Screenshots and measured rates go to test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from './serve.js';

const CHROMIUM = process.env.BIFLOW_CHROMIUM ?? '/usr/bin/chromium';
const root = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(root, 'test-artifacts');
const available = existsSync(CHROMIUM);
/** .ci/run sets BIFLOW_REQUIRE_BROWSER=1: there a missing chromium fails the tests instead of skipping them. */
const required = process.env.BIFLOW_REQUIRE_BROWSER === '1';
if (!available && !required) console.warn(`browser tests skipped: no chromium at ${CHROMIUM}. Install it with 'apt-get install -y chromium' (.ci/run does) or set BIFLOW_CHROMIUM.`);

/** The machine's flags: no sandbox as root, and no background connections on a closed network. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** WebGPU on Chromium's software adapter (SwiftShader). */
const WEBGPU_FLAGS = [...FLAGS.filter((f) => f !== '--disable-gpu'), '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];

type Status = { ready: boolean; backend: string; running: boolean; iterations: number; loss: number | null; losses: number[]; nll: number | null; nfeForward: number; nfeBackward: number; itersPerSecond: number | null; densityDraws: number; numTensors: number; error: string | null };
// What the page functions below see: they run in the browser, not in Node.
declare const window: { __biflow: Status & { deviceLost: string | null }; __biflowTest: { loseDevice(): void } };
declare const document: { querySelector(selector: string): { toDataURL(): string } };
const rates: Record<string, unknown> = {};
let browser: Browser;
let server: { url: string; close: () => Promise<void> };
let dist: string;

/** Opens the playground with URL parameters, collecting console errors and page errors. */
async function open(query: string, on: Browser = browser): Promise<{ page: Page; errors: string[] }> {
  const page = await on.newPage({ viewport: { width: 1280, height: 720 } });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => window.__biflow?.ready === true, null, { timeout: 60_000 });
  return { page, errors };
}
const status = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__biflow)) as Status);
const densityPixels = (page: Page) => page.evaluate(() => document.querySelector('[data-testid=density]').toDataURL());
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.skipIf(!available && !required)('the playground in headless Chromium', () => {
  beforeAll(async () => {
    if (!available) throw new Error(`BIFLOW_REQUIRE_BROWSER=1 but there is no chromium at ${CHROMIUM}: .ci/install-chromium.sh did not install it`);
    dist = mkdtempSync(path.join(tmpdir(), 'biflow-web-'));
    await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } });
    server = await serveStatic(dist);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    mkdirSync(artifacts, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
    if (Object.keys(rates).length) writeFileSync(path.join(artifacts, 'browser-rates.json'), `${JSON.stringify(rates, null, 2)}\n`);
  });

  it('loads with no console errors, on wasm, with every control and panel present', async () => {
    const { page, errors } = await open('backend=wasm');
    const s = await status(page);
    expect(s.backend).toBe('wasm');
    expect(await page.getByTestId('backend').textContent()).toBe('wasm');
    for (const id of ['data', 'model', 'objective', 'hidden', 'solver', 'tol', 'trace', 'run', 'density', 'flow', 'loss-chart', 'nfe-chart']) {
      await expect(page.getByTestId(id).count()).resolves.toBe(1);
    }
    expect(s.error).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('trains FFJORD for 50 iterations on wasm: the loss falls, the density redraws, no tensor leaks', async () => {
    const { page, errors } = await open('backend=wasm&data=8gaussians&model=ffjord&hidden=32,32,32&solver=dopri5&tol=1e-3&trace=hutchinson&batch=256&iters=50');
    const before = await densityPixels(page);
    await page.getByTestId('run').click();
    await page.waitForFunction(() => window.__biflow.iterations >= 10 && window.__biflow.densityDraws >= 1, null, { timeout: 120_000 });
    const early = await status(page);
    const densityEarly = await densityPixels(page);
    await page.waitForFunction(() => window.__biflow.iterations === 50 && !window.__biflow.running, null, { timeout: 240_000 });
    const s = await status(page);
    await page.screenshot({ path: path.join(artifacts, 'playground-ffjord-wasm.png') });
    expect(s.losses).toHaveLength(50);
    expect(mean(s.losses.slice(0, 5)) - mean(s.losses.slice(-5))).toBeGreaterThan(0.5);
    expect(s.nll).not.toBeNull();
    expect(s.nll!).toBeLessThan(s.losses[0]!);
    expect(s.nfeForward).toBeGreaterThan(0);
    expect(s.nfeBackward).toBeGreaterThan(0);
    expect(s.densityDraws).toBe(5);
    expect(densityEarly).not.toBe(before);
    expect(await densityPixels(page)).not.toBe(densityEarly);
    // Same count after iteration 10 (Adam's moments exist by then) and after iteration 50.
    expect(s.numTensors).toBe(early.numTensors);
    expect(await page.getByTestId('run').textContent()).toBe('resume');
    expect(errors).toEqual([]);
    rates.wasm = { model: 'ffjord [32,32,32] dopri5 1e-3 hutchinson', batch: 256, itersPerSecond: s.itersPerSecond, nfeForward: s.nfeForward };
    await page.close();
  }, 300_000);

  it('trains FFJORD by flow matching (objective ot-cfm) on wasm: the FM loss falls, no training NFE, no tensor leaks; FM on a discrete flow shows the typed error', async () => {
    const { page, errors } = await open('backend=wasm&data=8gaussians&model=ffjord&objective=ot-cfm&hidden=32,32,32&batch=256&iters=40');
    await page.getByTestId('run').click();
    await page.waitForFunction(() => window.__biflow.iterations >= 10 && window.__biflow.densityDraws >= 1, null, { timeout: 120_000 });
    const early = await status(page);
    await page.waitForFunction(() => window.__biflow.iterations === 40 && !window.__biflow.running, null, { timeout: 240_000 });
    const s = await status(page);
    expect(mean(s.losses.slice(0, 5)) - mean(s.losses.slice(-5))).toBeGreaterThan(0.5);
    expect(Number.isFinite(s.nll!)).toBe(true);
    expect(s.nfeForward).toBe(0);
    expect(s.numTensors).toBe(early.numTensors);
    expect(errors).toEqual([]);
    await page.close();
    const bad = await open('backend=wasm&model=realnvp&objective=cfm');
    expect((await status(bad.page)).error).toMatch(/objective needs a flow with a CNF block/);
    await bad.page.close();
  }, 300_000);

  it('stops and resumes a discrete flow with the button, and records its rate on wasm', async () => {
    const { page, errors } = await open('backend=wasm&model=realnvp&hidden=32,32&batch=256');
    await page.getByTestId('run').click();
    await page.waitForFunction(() => window.__biflow.iterations >= 5, null, { timeout: 60_000 });
    await page.getByTestId('run').click();
    await page.waitForFunction(() => !window.__biflow.running, null, { timeout: 30_000 });
    const stopped = (await status(page)).iterations;
    await page.waitForTimeout(500);
    expect((await status(page)).iterations).toBe(stopped);
    expect(await page.getByTestId('run').textContent()).toBe('resume');
    await page.getByTestId('run').click();
    await page.waitForFunction((n) => window.__biflow.iterations >= n + 25, stopped, { timeout: 60_000 });
    await page.getByTestId('run').click();
    const s = await status(page);
    expect(mean(s.losses.slice(0, 3))).toBeGreaterThan(mean(s.losses.slice(-3)));
    expect(s.nfeForward).toBe(0);
    expect(errors).toEqual([]);
    rates.wasmRealNVP = { model: 'realnvp [32,32]', batch: 256, itersPerSecond: s.itersPerSecond };
    await page.close();
  }, 120_000);

  it("trains the 'biflow' mixed stack (ActNorm → CNF → LU → spline → CNF) with the page's solver knobs", async () => {
    const { page, errors } = await open('backend=wasm&hidden=16,16&solver=dopri5&tol=1e-3&trace=hutchinson&batch=128');
    await page.getByTestId('model').selectOption('biflow');
    expect((await status(page)).error).toBeNull();
    await page.getByTestId('run').click();
    await page.waitForFunction(() => window.__biflow.iterations >= 3, null, { timeout: 120_000 });
    await page.getByTestId('run').click();
    await page.waitForFunction(() => !window.__biflow.running, null, { timeout: 60_000 });
    const s = await status(page);
    expect(Number.isFinite(s.loss)).toBe(true);
    expect(s.nfeForward).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it('grows a model on points drawn with the mouse', async () => {
    const { page, errors } = await open('backend=wasm&model=realnvp&hidden=16,16&batch=128');
    const box = (await page.getByTestId('data-canvas').boundingBox())!;
    await page.mouse.move(box.x + 80, box.y + 80);
    await page.mouse.down();
    for (let k = 0; k <= 40; k++) await page.mouse.move(box.x + 80 + 4 * k, box.y + 80 + 3 * k);
    await page.mouse.up();
    await expect(page.getByTestId('data').inputValue()).resolves.toBe('draw');
    await page.getByTestId('run').click();
    await page.waitForFunction(() => window.__biflow.iterations >= 15, null, { timeout: 60_000 });
    await page.getByTestId('run').click();
    const s = await status(page);
    expect(s.error).toBeNull();
    expect(mean(s.losses.slice(0, 3))).toBeGreaterThan(mean(s.losses.slice(-3)));
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('trains on the GPU backends the headless browser offers (WebGL, WebGPU), and says which it lacks', async (ctx) => {
    const trained: string[] = [];
    for (const gpu of ['webgl', 'webgpu'] as const) {
      const { page, errors } = await open(`backend=${gpu}&model=realnvp&hidden=32,32&batch=256&iters=20`);
      const first = await status(page);
      if (first.backend !== gpu) {
        console.warn(`${gpu}: this headless Chromium does not offer it (${first.error})`);
        await page.close();
        continue;
      }
      const renderer = await page.getByTestId('backend').textContent();
      await page.getByTestId('run').click();
      await page.waitForFunction(() => window.__biflow.iterations === 20 && !window.__biflow.running, null, { timeout: 240_000 });
      const s = await status(page);
      expect(mean(s.losses.slice(0, 3))).toBeGreaterThan(mean(s.losses.slice(-3)));
      expect(errors).toEqual([]);
      rates[gpu] = { model: 'realnvp [32,32]', batch: 256, renderer, itersPerSecond: s.itersPerSecond };
      await page.screenshot({ path: path.join(artifacts, `playground-realnvp-${gpu}.png`) });
      await page.close();
      trained.push(gpu);
    }
    if (trained.length === 0) {
      console.warn('GPU browser test skipped: this headless Chromium offers neither WebGL nor WebGPU');
      ctx.skip();
    }
  }, 400_000);

  it('trains FFJORD (dopri5 + backsolve) on WebGPU through the async path, and recovers from a lost device', async (ctx) => {
    const gpu = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: WEBGPU_FLAGS });
    try {
      const { page, errors } = await open('backend=webgpu&model=ffjord&solver=dopri5&hidden=8&batch=32&iters=3&drawEvery=3', gpu);
      const first = await status(page);
      if (first.backend !== 'webgpu') {
        console.warn(`WebGPU browser test skipped: this headless Chromium offers no WebGPU adapter (${first.error})`);
        ctx.skip();
        return;
      }
      await page.getByTestId('run').click();
      await page.waitForFunction(() => window.__biflow.iterations === 3 && !window.__biflow.running, null, { timeout: 400_000 });
      const s = await status(page);
      expect(s.error).toBeNull();
      expect(s.losses.every(Number.isFinite)).toBe(true);
      // dopri5 with the backsolve adjoint: adaptive forward and backward solves ran on the GPU
      expect(s.nfeForward).toBeGreaterThan(0);
      expect(s.nfeBackward).toBeGreaterThan(0);
      expect(s.densityDraws).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      rates['webgpu-ffjord'] = { model: 'ffjord [8] dopri5 + backsolve', batch: 32, itersPerSecond: s.itersPerSecond };
      // A lost device (here destroyed on purpose) is reported, and the page carries on on wasm.
      await page.evaluate(() => window.__biflowTest.loseDevice());
      await page.waitForFunction(() => window.__biflow.backend === 'wasm' && window.__biflow.deviceLost !== null, null, { timeout: 60_000 });
      expect((await status(page)).error).toMatch(/WebGPU device was lost .*Now on wasm/);
      await page.getByTestId('run').click();
      await page.waitForFunction(() => window.__biflow.iterations === 3 && !window.__biflow.running, null, { timeout: 120_000 });
      expect((await status(page)).losses.every(Number.isFinite)).toBe(true);
      await page.close();
    } finally {
      await gpu.close();
    }
  }, 600_000);
});
