import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, InvalidArgumentError, loadFlow, ModelFileError, saveFlow, tf, train, useBackend } from '../../src/index.js';
import type { Flow, FlowArtifacts, FlowIOHandler } from '../../src/index.js';
import { loadDataset } from '../../src/data/index.js';
import { serveStatic } from '../web/serve.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-io-url-'));
let server: { url: string; close: () => Promise<void> };
let trained: Flow;
const data = loadDataset('8gaussians', { seed: 5 });
const points = tf.tensor2d(data.test.subarray(0, 40), [20, 2]);
const logProb = (f: Flow) => Array.from(f.logProb(points).dataSync());

beforeAll(async () => {
  await useBackend('wasm');
  trained = createFlow({ type: 'glow', dim: 2, hidden: [8], layers: 2, seed: 5 });
  // A training run folder (run/model/…) and a plain save (model/…), served over loopback only.
  await train(trained, data, { iters: 5, batch: 16, progress: 'none', checkpointDir: path.join(root, 'run'), saveModel: (d) => saveFlow(trained, d) });
  await saveFlow(trained, path.join(root, 'model'));
  server = await serveStatic(root);
});
afterAll(async () => {
  await server?.close();
  trained?.dispose();
  points.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('loadFlow by URL in Node', () => {
  it('loads http://127.0.0.1:PORT/model/ (fetch) with the same log-densities as the folder', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const cases = [`${server.url}model/`, `${server.url}model`, `${server.url}model/flow.json`, `${server.url}run/`];
    for (const url of cases) {
      const flow = await loadFlow(url);
      expect(logProb(flow)).toEqual(logProb(trained));
      flow.dispose();
    }
  });

  it('a missing or damaged model over HTTP is a ModelFileError naming the URL, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    await expect(loadFlow(`${server.url}nothing/`)).rejects.toThrow(new RegExp(`^loadFlow: ${server.url}nothing/flow\\.json: cannot be fetched \\(HTTP 404\\), nor can ${server.url}nothing/model/flow\\.json`));
    const bad = path.join(root, 'truncated');
    mkdirSync(bad);
    copyFileSync(path.join(root, 'model', 'flow.json'), path.join(bad, 'flow.json'));
    writeFileSync(path.join(bad, 'weights.bin'), readFileSync(path.join(root, 'model', 'weights.bin')).subarray(0, 10));
    const err = await loadFlow(`${server.url}truncated/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(new RegExp(`${server.url}truncated/weights\\.bin: holds 10 bytes where the manifest describes \\d+`));
    rmSync(path.join(bad, 'weights.bin'));
    await expect(loadFlow(`${server.url}truncated/`)).rejects.toThrow(/truncated\/weights\.bin: cannot be fetched \(HTTP 404/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a flow.json whose weights file is not a plain name beside it (no ../), over HTTP and on disk', async () => {
    const dir = path.join(root, 'escape');
    mkdirSync(dir);
    const json = JSON.parse(readFileSync(path.join(root, 'model', 'flow.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../model/weights.bin'];
    writeFileSync(path.join(dir, 'flow.json'), JSON.stringify(json));
    await expect(loadFlow(`${server.url}escape/`)).rejects.toThrow(/lists the weights file "\.\.\/model\/weights\.bin", not a plain file name beside it/);
    await expect(loadFlow(dir)).rejects.toThrow(ModelFileError);
  });
});

describe('file:// URLs, .json paths and handlers', () => {
  it('saves to and loads from file:// URLs as from paths', async () => {
    const url = pathToFileURL(path.join(root, 'by-url')).href;
    await saveFlow(trained, url);
    const a = await loadFlow(url);
    const b = await loadFlow(path.join(root, 'by-url'));
    expect(logProb(a)).toEqual(logProb(trained));
    expect(logProb(b)).toEqual(logProb(trained));
    [a, b].forEach((f) => f.dispose());
  });

  it('loads the .json of a downloads://-style pair (name.json beside name.weights.bin)', async () => {
    const dir = path.join(root, 'downloads');
    mkdirSync(dir);
    const json = JSON.parse(readFileSync(path.join(root, 'model', 'flow.json'), 'utf8'));
    json.weightsManifest[0].paths = ['moons.weights.bin'];
    writeFileSync(path.join(dir, 'moons.json'), JSON.stringify(json));
    copyFileSync(path.join(root, 'model', 'weights.bin'), path.join(dir, 'moons.weights.bin'));
    const flow = await loadFlow(path.join(dir, 'moons.json'));
    expect(logProb(flow)).toEqual(logProb(trained));
    flow.dispose();
  });

  it('saves and loads through a tf.io-style handler; checks what a handler returns', async () => {
    let kept: FlowArtifacts | null = null;
    const memory: FlowIOHandler = { save: async (a) => void (kept = a), load: async () => kept! };
    await saveFlow(trained, memory);
    const flow = await loadFlow(memory);
    expect(logProb(flow)).toEqual(logProb(trained));
    flow.dispose();
    await expect(loadFlow({ load: async () => ({ json: { ...kept!.json, format: 'x' }, weights: kept!.weights }) })).rejects.toThrow(/^loadFlow: the handler: is not a biflow-flow v1 file/);
    await expect(saveFlow(trained, { load: memory.load })).rejects.toThrow(InvalidArgumentError);
  });

  it('indexeddb:// and downloads:// say they need a browser; unknown schemes are refused', async () => {
    await expect(saveFlow(trained, 'indexeddb://m')).rejects.toThrow(/^saveFlow: target needs a browser's IndexedDB, which this environment lacks, got "indexeddb:\/\/m"\. In Node save to a folder/);
    await expect(loadFlow('indexeddb://m')).rejects.toThrow(/^loadFlow: source needs a browser's IndexedDB/);
    await expect(saveFlow(trained, 'downloads://m')).rejects.toThrow(/needs a browser page \(it offers the files as downloads\)/);
    await expect(saveFlow(trained, 'indexeddb://')).rejects.toThrow(/needs a name of letters, digits/);
    await expect(loadFlow('s3://bucket/m/')).rejects.toThrow(/has a scheme biflow does not know/);
    await expect(saveFlow(trained, `${server.url}model/`)).rejects.toThrow(/can only be loaded from \(http\(s\):\/\/ is read-only here\)/);
  });
});
