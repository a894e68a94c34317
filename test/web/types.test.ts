/**
 * The package's types as a consumer's TypeScript sees them, through package.json `exports`:
 * `node16`/`nodenext` and `bundler` resolution in a Node project both give the Node entry (with
 * what only it has: `loadDataset`, `fileCheckpointer`, `compare`, …); a bundler configured for
 * browsers (the `browser` condition) gets the browser entry; `biflow/node` and `biflow/browser`
 * are exact.
 * The declarations are emitted into a copy of the package in a temp folder, so the test needs no
 * prior build.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'biflow-types-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The consumer's code: what only the Node entry has, and what both have. */
const NODE_USE = `import { train, saveFlow, loadFlow, loadDataset, fileCheckpointer, compare, createFlow, tf } from 'biflow';
import * as node from 'biflow/node';
import * as browser from 'biflow/browser';
export const fns = [train, saveFlow, loadFlow, loadDataset, fileCheckpointer, compare, createFlow, node.loadDataset, browser.train, browser.createFlow];
export const t: typeof tf.Tensor = browser.tf.Tensor;
// @ts-expect-error the browser entry reads no files from disk
export const none = browser.loadDataset;
`;
const BROWSER_USE = `import * as biflow from 'biflow';
export const ok = [biflow.createFlow, biflow.useBackend, biflow.train];
// @ts-expect-error under the 'browser' condition 'biflow' is the browser entry
export const none = biflow.loadDataset;
`;

/** Type-checks `code` in a consumer project with these compiler options; tsc's output ('' when clean). */
function check(name: string, code: string, options: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  symlinkSync(path.join(tmp, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, type: 'module', private: true }));
  writeFileSync(path.join(dir, 'index.ts'), code);
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, target: 'ES2022', types: [], ...options }, files: ['index.ts'] }));
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (e) {
    return String((e as { stdout: string }).stdout);
  }
}

beforeAll(() => {
  // node_modules/biflow: the package.json and the emitted declarations; its dependencies are the repository's.
  const pkg = path.join(tmp, 'node_modules', 'biflow');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--emitDeclarationOnly', '--outDir', path.join(pkg, 'dist')], { stdio: 'pipe' });
}, 120_000);

describe('types through package.json exports', () => {
  it('moduleResolution nodenext: the Node entry', () => {
    expect(check('nodenext', NODE_USE, { module: 'NodeNext', moduleResolution: 'NodeNext' })).toBe('');
  }, 60_000);

  it('moduleResolution bundler in a Node project (no browser condition): the Node entry too', () => {
    expect(check('bundler', NODE_USE, { module: 'ESNext', moduleResolution: 'Bundler' })).toBe('');
  }, 60_000);

  it("moduleResolution bundler with customConditions ['browser']: the browser entry", () => {
    expect(check('bundler-browser', BROWSER_USE, { module: 'ESNext', moduleResolution: 'Bundler', customConditions: ['browser'] })).toBe('');
  }, 60_000);
});
