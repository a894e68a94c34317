import { describe, expect, it } from 'vitest';
import * as browser from '../../src/browser.js';
import * as node from '../../src/index.js';

/**
 * What only the Node entry has: files on disk, and what uses them — run folders (the file-system
 * checkpointer, its errors), dataset files, and the harnesses built on them. `train`, `loadFlow`
 * and `saveFlow` are in both (in browsers without paths).
 */
const NODE_ONLY = [
  'COMPARE_COLUMNS', 'CheckpointFileError', 'OutputInUseError', 'OutputPathError', 'compare', 'compareFigure', 'compareMarkdown', 'fileCheckpointer', 'loadDataset', 'loadTabular',
  'trainGenerator', 'writeFolderAtomically',
].sort();

describe('the Node and browser entries', () => {
  it('export the same names but the Node-only file I/O and training loop (add a new export to both src/index.ts and src/browser.ts)', () => {
    const n = Object.keys(node).sort();
    const b = Object.keys(browser).sort();
    expect(n.filter((k) => !b.includes(k))).toEqual(NODE_ONLY);
    expect(b.filter((k) => !n.includes(k))).toEqual([]);
  });

  it('share one tfjs engine and the same library objects; only useBackend differs by platform', () => {
    expect(browser.tf).toBe(node.tf);
    expect(browser.createFlow).toBe(node.createFlow);
    expect(browser.CNF).toBe(node.CNF);
    expect(browser.BackendUnavailableError).toBe(node.BackendUnavailableError);
    expect(browser.useBackend).not.toBe(node.useBackend);
    expect(browser.ModelFileError).toBe(node.ModelFileError);
    // The same loop and format; the Node ones add run folders and paths.
    expect(browser.train).not.toBe(node.train);
    expect(browser.loadFlow).not.toBe(node.loadFlow);
  });

  it('the browser loadFlow/saveFlow/train refuse paths and checkpoints with typed errors that say what works', async () => {
    const flow = browser.createFlow({ type: 'nice', dim: 2, hidden: [4], layers: 2 });
    await expect(browser.loadFlow('runs/a')).rejects.toThrow(/^loadFlow: source is a file path, which needs Node, got "runs\/a"\. In a browser load from a URL/);
    await expect(browser.saveFlow(flow, 'models/a')).rejects.toThrow(/^saveFlow: target is a folder path, which needs Node, got "models\/a"\. In a browser save to indexeddb:\/\/name/);
    await expect(browser.saveFlow(flow, 'indexeddb://a')).rejects.toThrow(/needs a browser's IndexedDB, which this environment lacks/);
    await expect(browser.saveFlow(flow, 'https://example.org/m/')).rejects.toThrow(/can only be loaded from/);
    await expect(browser.loadFlow('ftp://host/m/')).rejects.toThrow(/has a scheme biflow does not know/);
    const data = { name: 'rows', dim: 2, batch: () => new Float32Array(8), test: new Float32Array(2) };
    await expect(browser.train(flow, data, { iters: 1, batch: 4, checkpointDir: 'runs/a', saveModel: async () => {} })).rejects.toThrow(/^train: checkpointDir needs somewhere to keep checkpoints, got "runs\/a": in Node import train from biflow/);
    flow.dispose();
  });

  it("the browser useBackend refuses tfjs-node and WebGL in Node with a typed error that says why", async () => {
    const err = await browser.useBackend('tfjs-node').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(browser.BackendUnavailableError);
    expect((err as Error).message).toMatch(/backend 'tfjs-node' is not available: tfjs-node runs only in Node\. .*in a browser use/);
    const gl = await node.useBackend('webgl').catch((e: unknown) => e);
    expect((gl as Error).message).toMatch(/backend 'webgl' is not available: WebGL needs a browser \(no OffscreenCanvas here\)\. WebGL exists only in browsers/);
  });
});
