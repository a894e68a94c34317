/**
 * The browser's stores for saved flows, as tf.io has them: `indexeddb://name` (one record per
 * name in the database `biflow-models`) and `downloads://name` (two downloads, `name.json` and
 * `name.weights.bin`, as tf.io's browserDownloads writes `name.json` + `name.weights.bin`). The
 * DOM's types are not in this package's lib (it builds for Node too), so the little used here is
 * typed structurally.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkSaved, ModelFileError } from './flow-format.js';
import type { FlowArtifacts, FlowIOHandler } from './flow-format.js';

interface Req<T> { result: T; error: unknown; onsuccess: (() => void) | null; onerror: (() => void) | null }
interface Store { get(key: string): Req<unknown>; put(value: unknown, key: string): Req<unknown> }
interface Tx { objectStore(name: string): Store; oncomplete: (() => void) | null; onerror: (() => void) | null; onabort: (() => void) | null; error: unknown }
interface Db { transaction(store: string, mode: 'readonly' | 'readwrite'): Tx; createObjectStore(name: string): unknown; close(): void }
interface OpenReq extends Req<Db> { onupgradeneeded: (() => void) | null }
interface Idb { open(name: string, version: number): OpenReq }
interface Anchor { href: string; download: string; click(): void }
interface Doc { createElement(tag: 'a'): Anchor }
interface UrlStatics { createObjectURL(b: unknown): string; revokeObjectURL(u: string): void }

const DATABASE = 'biflow-models';
const STORE = 'flows';

const done = <T>(r: Req<T>): Promise<T> => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

async function openDatabase(fn: string, arg: string, url: string): Promise<Db> {
  const idb = (globalThis as { indexedDB?: Idb }).indexedDB;
  if (!idb) throw new InvalidArgumentError(fn, arg, url, 'needs a browser\'s IndexedDB, which this environment lacks, got {value}. In Node save to a folder (a path or file://…).');
  const req = idb.open(DATABASE, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return done(req);
}

/** `indexeddb://name`: the flow kept in the page's origin under `name`. */
export function indexedDbHandler(fn: string, arg: string, url: string, name: string): FlowIOHandler {
  return {
    async load() {
      const db = await openDatabase(fn, arg, url);
      try {
        const rec = (await done(db.transaction(STORE, 'readonly').objectStore(STORE).get(name))) as FlowArtifacts | undefined;
        if (!rec) throw new ModelFileError(url, 'holds no saved flow (nothing under that name in this origin\'s IndexedDB)', `Save one first with saveFlow(flow, '${url}').`);
        checkSaved(rec.json, url, 'Save the model again with saveFlow.');
        // Checked here: `files` tells loadWith so, as the HTTP handler's does.
        return { ...rec, files: { config: url, weights: url } };
      } finally {
        db.close();
      }
    },
    async save({ json, weights }) {
      const db = await openDatabase(fn, arg, url);
      try {
        const tx = db.transaction(STORE, 'readwrite');
        // One record, one transaction: a reader sees the old flow or the new one, never half.
        tx.objectStore(STORE).put({ json, weights }, name);
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = tx.onabort = () => reject(tx.error);
        });
      } finally {
        db.close();
      }
    },
  };
}

/** `downloads://name`: `name.json` and `name.weights.bin` offered as downloads (the json lists the .bin beside it). */
export function downloadsHandler(fn: string, arg: string, url: string, name: string): FlowIOHandler {
  return {
    async save({ json, weights }) {
      const doc = (globalThis as { document?: Doc }).document;
      const urls = (globalThis as { URL: UrlStatics }).URL;
      if (!doc) throw new InvalidArgumentError(fn, arg, url, 'needs a browser page (it offers the files as downloads), got {value}. In Node save to a folder (a path or file://…).');
      const weightsFile = `${name}.weights.bin`;
      const record = { ...json, weightsManifest: [{ paths: [weightsFile], weights: json.weightsManifest.flatMap((m) => m.weights) }] };
      const files: [string, Blob][] = [
        [`${name}.json`, new Blob([JSON.stringify(record, null, 2)], { type: 'application/json' })],
        [weightsFile, new Blob([weights], { type: 'application/octet-stream' })],
      ];
      for (const [file, blob] of files) {
        const a = doc.createElement('a');
        a.download = file;
        a.href = urls.createObjectURL(blob);
        a.click();
        // The download has started from the object URL by the next turn; keep it a while regardless.
        setTimeout(() => urls.revokeObjectURL(a.href), 10_000);
      }
    },
  };
}
