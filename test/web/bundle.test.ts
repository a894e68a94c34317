import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, NODE_ONLY_PACKAGES } from './bundle-check.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'biflow-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ours = (file: string) => file.startsWith(path.join(root, 'src') + path.sep);

describe('the browser entry bundles with vite and no Node shims', () => {
  it('src/browser.ts pulls in no Node built-in and no Node-only package', async () => {
    const { imports, modules, warnings, code } = await bundleForBrowser(root, 'src/browser.ts', path.join(tmp, 'browser'));
    // tfjs-core's gradients survive tree-shaking (package.json sideEffects keeps the engine's
    // registering imports): tfjs-core registers about 130 gradient configs, biflow's own are few.
    expect((code.match(/gradFunc/g) ?? []).length).toBeGreaterThan(100);
    // Our own code asks for nothing Node-only.
    expect(imports.filter((i) => ours(i.importer)).map((i) => `${i.id} from ${path.relative(root, i.importer)}`)).toEqual([]);
    // Dependencies may reach for a built-in only in a Node branch their own package.json maps to
    // `false` for browsers (tfjs-backend-wasm's emscripten glue, seedrandom's crypto).
    expect(imports.filter((i) => !i.declaredBrowserFalse).map((i) => `${i.id} from ${path.relative(root, i.importer)}`)).toEqual([]);
    expect(modules.filter((m) => NODE_ONLY_PACKAGES.some((p) => m.includes(`/node_modules/${p}/`)))).toEqual([]);
    expect(warnings.filter((w) => /externalized for browser compatibility/.test(w))).toEqual([]);
    // The bundle really holds the library: the registry, the CNF and the solvers.
    expect(modules.some((m) => m.endsWith('src/biflow/registry.ts'))).toBe(true);
    expect(modules.some((m) => m.endsWith('src/ffjord/cnf.ts'))).toBe(true);
    expect(modules.some((m) => m.endsWith('src/ode/solve.ts'))).toBe(true);
    // The trainer and URL loading are in, without their Node halves (run folders, files).
    expect(modules.some((m) => m.endsWith('src/train/train.ts'))).toBe(true);
    expect(modules.some((m) => m.endsWith('src/biflow/io-url.ts'))).toBe(true);
    expect(modules.filter((m) => /src\/(train\/(node|folders|lock|checkpoint)|biflow\/io)\.ts$/.test(m))).toEqual([]);
  }, 120_000);

  it('the same check catches the Node entry, which reads and writes files', async () => {
    const { imports } = await bundleForBrowser(root, 'src/index.ts', path.join(tmp, 'node'));
    const fromOurs = imports.filter((i) => ours(i.importer)).map((i) => `${i.id} from ${path.relative(root, i.importer)}`);
    expect(fromOurs).toContain('node:fs/promises from src/biflow/io.ts');
    expect(fromOurs).toContain('node:fs from src/train/lock.ts');
    expect(fromOurs).toContain('node:child_process from src/backend/dawn.ts');
  }, 120_000);
});
