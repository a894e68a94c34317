import { describe, expect, it } from 'vitest';
import * as browser from '../../src/browser.js';
import * as node from '../../src/index.js';

/**
 * What only the Node entry has: files on disk, and what uses them — the training loop (checkpoints),
 * dataset files, and the harnesses built on them.
 */
const NODE_ONLY = [
  'COMPARE_COLUMNS', 'CheckpointFileError', 'ModelFileError', 'OutputInUseError', 'OutputPathError', 'compare', 'compareFigure', 'compareMarkdown', 'loadDataset', 'loadFlow', 'loadTabular', 'saveFlow',
  'train', 'trainGenerator', 'writeFolderAtomically',
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
  });

  it("the browser useBackend refuses tfjs-node and WebGL in Node with a typed error that says why", async () => {
    const err = await browser.useBackend('tfjs-node').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(browser.BackendUnavailableError);
    expect((err as Error).message).toMatch(/backend 'tfjs-node' is not available: tfjs-node runs only in Node\. .*in a browser use/);
    const gl = await node.useBackend('webgl').catch((e: unknown) => e);
    expect((gl as Error).message).toMatch(/backend 'webgl' is not available: WebGL needs a browser \(no OffscreenCanvas here\)\. WebGL exists only in browsers/);
  });
});
