/**
 * Saving and loading flows in Node: folders on disk (a path or a file:// URL), plus every URL the
 * browser part serves (io-url.ts: https://, http://, indexeddb://, downloads://, a handler). The
 * format (flow.json + weights.bin) is flow-format.ts's.
 *
 * Writing a folder is atomic: everything goes to a sibling temporary folder that then replaces
 * the target, so a crash mid-save leaves the previous save intact. A save replaces only a previous
 * save: the target must be new, an empty folder, or a folder holding exactly what saveFlow wrote
 * there (flow.json and the files its manifest lists); anything else is refused with an
 * OutputPathError and left untouched. Loading validates everything before it builds anything,
 * and fails with a typed error that names the file and what is wrong.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectTarget, OutputPathError, someFiles, writeFolderAtomically } from '../train/folders.js';
import type { Flow } from '../flows/flow.js';
import { CONFIG_FILE, concatBytes, decodeFlow, encodeFlow, FORMAT, ModelFileError, parseSaved, WEIGHTS_FILE, weightFiles } from './flow-format.js';
import type { FlowIOHandler, SavedFlow } from './flow-format.js';
import { loadWith, saveWith, schemeOf, urlHandler } from './io-url.js';

export { ModelFileError } from './flow-format.js';
export type { FlowArtifacts, FlowIOHandler, SavedFlow } from './flow-format.js';

/** The files of a saveFlow folder (flow.json and its manifest's paths), or null if `dir` is not one. */
function savedFiles(dir: string): string[] | null {
  try {
    const saved = JSON.parse(readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as SavedFlow;
    return saved?.format === FORMAT && Array.isArray(saved.weightsManifest) ? [CONFIG_FILE, ...weightFiles(saved)] : null;
  } catch {
    return null;
  }
}

/** Throws unless saveFlow may write `target`: nothing there, an empty folder, or exactly a previous save. */
function checkSaveTarget(target: string): void {
  const t = inspectTarget(target);
  if (t.kind === 'other') throw new OutputPathError('saveFlow', target, 'is a file, not a model folder', 'Pass a folder path: a new one, or one saveFlow wrote.');
  if (t.kind === 'none') return;
  const known = savedFiles(target);
  const foreign = known ? t.files.filter((f) => !known.includes(f)) : t.files;
  if (foreign.length) {
    const what = known ? 'holds a saved flow but also files saveFlow did not write' : 'holds files saveFlow did not write';
    throw new OutputPathError('saveFlow', target, `${what} (${someFiles(foreign)})`, 'Save into a new or empty folder; saveFlow replaces only a folder it wrote itself.');
  }
}

/** A file:// URL as a path; anything else as it is. */
const asPath = (s: string): string => (schemeOf(s) === 'file' ? fileURLToPath(s) : s);

/**
 * Writes `flow` to `target`: a folder (a path or file:// URL) created or replaced atomically —
 * it must be new, an empty folder, or a folder an earlier saveFlow wrote (replaced without asking:
 * it holds nothing else); anything else is refused with {@link OutputPathError} and left as it
 * is. Also `indexeddb://name` and `downloads://name` (browsers) or a {@link FlowIOHandler}.
 *
 * @example
 * ```ts
 * import { createFlow, loadFlow, saveFlow } from 'biflow';
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * await saveFlow(flow, 'models/moons');            // models/moons/flow.json + weights.bin
 * const back = await loadFlow('models/moons');
 * ```
 */
export async function saveFlow(flow: Flow, target: string | FlowIOHandler): Promise<void> {
  if (typeof target !== 'string') return saveWith(flow, target, 'the handler');
  const handler = urlHandler('saveFlow', 'target', target);
  if (handler) return saveWith(flow, handler, target);
  const { json, weights } = await encodeFlow('saveFlow', flow);
  await writeFolderAtomically(asPath(target), async (tmp) => {
    await writeFile(path.join(tmp, WEIGHTS_FILE), new Uint8Array(weights));
    await writeFile(path.join(tmp, CONFIG_FILE), JSON.stringify(json, null, 2));
  }, checkSaveTarget);
}

/**
 * The model folder of `dir`: `dir` itself when it holds flow.json, else its `model/` when that
 * does (the folder `biflow train --out` writes), else `dir` (loadFlow then names what is missing).
 */
export function modelFolder(dir: string): string {
  if (!existsSync(path.join(dir, CONFIG_FILE)) && existsSync(path.join(dir, 'model', CONFIG_FILE))) return path.join(dir, 'model');
  return dir;
}

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** Reads a saved flow from disk: a folder, a training run's folder (its model/), or the .json itself. */
async function loadFromDisk(at: string): Promise<Flow> {
  const configPath = /\.json$/i.test(at) && isFile(at) ? at : path.join(modelFolder(at), CONFIG_FILE);
  const dir = path.dirname(configPath);
  const fix = `Point loadFlow at a folder written by saveFlow (it holds ${CONFIG_FILE} and ${WEIGHTS_FILE}) or by biflow train --out (it holds model/).`;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(configPath, `cannot be read (${code ?? (e as Error).message})${code === 'ENOENT' ? `: ${dir} holds no model, nor does its model/` : ''}`, fix);
  }
  const saved = parseSaved(text, configPath, fix);
  const files = weightFiles(saved).map((f) => path.join(dir, f));
  const parts: Uint8Array[] = [];
  for (const f of files) {
    try {
      parts.push(await readFile(f));
    } catch (e) {
      throw new ModelFileError(f, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix);
    }
  }
  return decodeFlow(saved, concatBytes(parts), { config: configPath, weights: files[0] ?? configPath });
}

/**
 * Reads a flow saved by {@link saveFlow}: from a folder (a path or file:// URL; a training run's
 * folder works too, through its model/), from `https://…/model/` or `http://…` (fetch), from
 * `indexeddb://name` (browsers), or through a {@link FlowIOHandler}.
 *
 * @example
 * ```ts
 * import { loadFlow, tf } from 'biflow';
 * const flow = await loadFlow('runs/moons');                     // biflow train --out runs/moons
 * const same = await loadFlow('http://127.0.0.1:8080/model/');   // the same files served over HTTP
 * flow.logProb(tf.tensor2d([[0, 0]])).print();
 * ```
 */
export async function loadFlow(source: string | FlowIOHandler): Promise<Flow> {
  if (typeof source !== 'string') return loadWith(source, 'the handler');
  const handler = urlHandler('loadFlow', 'source', source);
  return handler ? loadWith(handler, source) : loadFromDisk(asPath(source));
}

export { writeFolderAtomically };
