/**
 * A model trained by the CLI, loaded in headless Chromium: over HTTP (`loadFlow('http://…/model/')`,
 * a run folder, a URL relative to the page), then saved to and loaded back from IndexedDB, and
 * saved as two downloads that Node loads back. Its log-densities in the page (cpu backend) match
 * Node's (wasm backend) to float32 round-off. Skips, saying why, where /usr/bin/chromium is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadFlow, tf, useBackend } from '../../src/index.js';
import { serveStatic } from './serve.js';

const CHROMIUM = process.env.BIFLOW_CHROMIUM ?? '/usr/bin/chromium';
const root = path.resolve(import.meta.dirname, '../..');
const available = existsSync(CHROMIUM);
const required = process.env.BIFLOW_REQUIRE_BROWSER === '1';
if (!available && !required) console.warn(`URL-loading browser test skipped: no chromium at ${CHROMIUM}. Install it with 'apt-get install -y chromium' or set BIFLOW_CHROMIUM.`);
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// What the page functions below see: they run in the browser, not in Node.
type PageBiflow = typeof import('../../src/browser.js');
declare const biflow: PageBiflow;

let browser: Browser;
let page: Page;
let server: { url: string; close: () => Promise<void> };
let site: string;
/** 20 held-out points of the data, and Node's log-densities of them under each model. */
const points = Array.from({ length: 40 }, (_, i) => Math.sin(1.3 * i) * 2.5);
const nodeLogProb: Record<string, number[]> = {};

/** In the page: load `source` on the cpu backend and return log p of the points. */
const pageLogProb = (source: string) => page.evaluate(async ([src, xs]) => {
  await biflow.useBackend('cpu');
  const flow = await biflow.loadFlow(src);
  const x = biflow.tf.tensor2d(xs, [xs.length / 2, 2]);
  const lp = flow.logProb(x);
  const out = Array.from(await lp.data());
  biflow.tf.dispose([x, lp]);
  flow.dispose();
  return out;
}, [source, points] as const);

/** The largest |page − Node| seen per check, written to test-artifacts/load-url.json. */
const differences: Record<string, number> = {};
const close = (a: number[], b: number[], what: string) => {
  expect(a).toHaveLength(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b[i]!))));
  differences[what] = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
};

describe.skipIf(!available && !required)('loading a CLI-trained model in headless Chromium', () => {
  beforeAll(async () => {
    if (!available) throw new Error(`BIFLOW_REQUIRE_BROWSER=1 but there is no chromium at ${CHROMIUM}`);
    site = mkdtempSync(path.join(tmpdir(), 'biflow-load-url-'));
    await build({
      root: path.join(root, 'test/web/load-page'), configFile: false, logLevel: 'warn', base: './',
      build: { outDir: site, emptyOutDir: false, target: 'es2022', chunkSizeWarningLimit: 6000 },
    });
    // Two models trained by the CLI into run folders under the served site.
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    for (const [name, model] of [['realnvp', ['--model', 'realnvp', '--hidden', '16,16']], ['ffjord', ['--model', 'ffjord', '--hidden', '8,8', '--solver', 'rk4']]] as const) {
      const code = await main(['train', '--data', '8gaussians', ...model, '--iters', '10', '--batch', '32', '--backend', 'wasm', '--json', '--out', path.join(site, name)], () => {});
      expect(code).toBe(0);
    }
    vi.restoreAllMocks();
    await useBackend('wasm');
    for (const name of ['realnvp', 'ffjord']) {
      const flow = await loadFlow(path.join(site, name));
      nodeLogProb[name] = tf.tidy(() => Array.from(flow.logProb(tf.tensor2d(points, [20, 2])).dataSync()));
      flow.dispose();
    }
    server = await serveStatic(site);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ acceptDownloads: true });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => typeof biflow?.loadFlow === 'function', null, { timeout: 60_000 });
    expect(errors).toEqual([]);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (site) rmSync(site, { recursive: true, force: true });
    if (Object.keys(differences).length) {
      mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
      writeFileSync(path.join(root, 'test-artifacts', 'load-url.json'), `${JSON.stringify({ maxAbsLogProbDifference: differences }, null, 2)}\n`);
    }
  });

  it("loadFlow('http://127.0.0.1:PORT/<run>/model/') in the page gives Node's log-densities (a discrete flow and a CNF)", async () => {
    for (const name of ['realnvp', 'ffjord']) {
      const lp = await pageLogProb(`${server.url}${name}/model/`);
      close(lp, nodeLogProb[name]!, `${name} over http`);
      // Not merely close to anything: a model loaded elsewhere gives other numbers.
      expect(lp).not.toEqual(nodeLogProb[name === 'realnvp' ? 'ffjord' : 'realnvp']);
    }
  }, 120_000);

  it('the run folder itself and a URL relative to the page load the same model', async () => {
    close(await pageLogProb(`${server.url}realnvp/`), nodeLogProb.realnvp!, 'realnvp run folder over http');
    close(await pageLogProb('realnvp/model/'), nodeLogProb.realnvp!, 'realnvp relative URL');
  }, 60_000);

  it('a missing model is a ModelFileError in the page naming the URL', async () => {
    const message = await page.evaluate(async (url) => biflow.loadFlow(url).then(() => 'loaded', (e: Error) => `${e instanceof biflow.ModelFileError}: ${e.message}`), `${server.url}nothing/`);
    expect(message).toMatch(new RegExp(`^true: loadFlow: ${server.url}nothing/flow\\.json: cannot be fetched \\(HTTP 404\\)`));
  }, 30_000);

  it('saves to indexeddb:// and loads it back with the same log-densities', async () => {
    await page.evaluate(async (url) => {
      await biflow.useBackend('cpu');
      const flow = await biflow.loadFlow(url);
      await biflow.saveFlow(flow, 'indexeddb://moons-test');
      flow.dispose();
    }, `${server.url}realnvp/`);
    close(await pageLogProb('indexeddb://moons-test'), nodeLogProb.realnvp!, 'realnvp via indexeddb');
    const missing = await page.evaluate(async () => biflow.loadFlow('indexeddb://no-such').then(() => 'loaded', (e: Error) => e.message));
    expect(missing).toMatch(/^loadFlow: indexeddb:\/\/no-such: holds no saved flow/);
  }, 60_000);

  it('downloads:// offers name.json and name.weights.bin, which Node loads back as the same model', async () => {
    const dir = path.join(site, 'downloaded');
    mkdirSync(dir);
    const downloads: string[] = [];
    const done = new Promise<void>((resolve) => {
      page.on('download', async (d) => {
        await d.saveAs(path.join(dir, d.suggestedFilename()));
        downloads.push(d.suggestedFilename());
        if (downloads.length === 2) resolve();
      });
    });
    await page.evaluate(async (url) => {
      const flow = await biflow.loadFlow(url);
      await biflow.saveFlow(flow, 'downloads://ring');
      flow.dispose();
    }, `${server.url}ffjord/`);
    await done;
    expect(downloads.sort()).toEqual(['ring.json', 'ring.weights.bin']);
    const back = await loadFlow(path.join(dir, 'ring.json'));
    const lp = tf.tidy(() => Array.from(back.logProb(tf.tensor2d(points, [20, 2])).dataSync()));
    back.dispose();
    expect(lp).toEqual(nodeLogProb.ffjord);
  }, 60_000);
});
