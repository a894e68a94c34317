/**
 * Loading and saving flows by URL, tf.io-style, with no Node import (the browser entry's
 * loadFlow/saveFlow; the Node entry adds paths and file:// in io.ts):
 *
 *   http://… https://…   load: fetch `<url>flow.json` (or `<url>model/flow.json`, a training run's
 *                        folder; or a URL to the .json itself) and the weights files it lists beside it
 *   indexeddb://name     load and save, in the page's IndexedDB
 *   downloads://name     save: name.json + name.weights.bin as two downloads
 *
 * A {@link FlowIOHandler} object works too, as tf.io's IOHandler does.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Flow } from '../flows/flow.js';
import { checkSaved, CONFIG_FILE, concatBytes, decodeFlow, encodeFlow, ModelFileError, parseSaved, weightFiles } from './flow-format.js';
import type { FlowArtifacts, FlowIOHandler } from './flow-format.js';
import { downloadsHandler, indexedDbHandler } from './io-browser-stores.js';

/** Where a handler's artifacts came from, for error messages (the handlers here know their URLs). */
type Located = FlowArtifacts & { files?: { config: string; weights: string } };

const FIX = `Point loadFlow at a folder URL serving ${CONFIG_FILE} and the weights it lists (what saveFlow writes), or a biflow train --out folder (it holds model/).`;

/** The URL scheme of `s` (`https`, `indexeddb`, …), lower-case, or null for a plain path. */
export function schemeOf(s: string): string | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  return m ? m[1]!.toLowerCase() : null;
}

/** Fetches `url`; a 404 resolves to null when `missingOk`, any other failure throws naming the URL. */
async function fetchOk(url: string, missingOk = false): Promise<Response | null> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelFileError(url, `cannot be fetched (${(e as Error).message})`, FIX);
  }
  if (res.ok) return res;
  if (missingOk && res.status === 404) return null;
  throw new ModelFileError(url, `cannot be fetched (HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''})`, FIX);
}

/** `http(s)://…/model/`: flow.json there, else model/flow.json (a run folder); the weights beside it. */
export function httpHandler(url: string): FlowIOHandler {
  return {
    async load(): Promise<Located> {
      const isJson = /\.json$/i.test(new URL(url).pathname);
      const base = isJson || url.endsWith('/') ? url : `${url}/`;
      let config = isJson ? base : new URL(CONFIG_FILE, base).href;
      // Nothing at the folder itself: it may be a training run's folder, whose model/ holds the flow.
      let res = await fetchOk(config, !isJson);
      if (!res) {
        config = new URL(`model/${CONFIG_FILE}`, base).href;
        res = await fetchOk(config, true);
        if (!res) throw new ModelFileError(new URL(CONFIG_FILE, base).href, `cannot be fetched (HTTP 404), nor can ${config}`, FIX);
      }
      const json = parseSaved(await res.text(), config, FIX);
      const files = weightFiles(json).map((p) => new URL(p, config).href);
      const parts = await Promise.all(files.map(async (f) => new Uint8Array(await (await fetchOk(f))!.arrayBuffer())));
      return { json, weights: concatBytes(parts), files: { config, weights: files[0] ?? config } };
    },
  };
}

/** The handler of a URL `target` (null for a scheme this part does not serve: a path, file://). */
export function urlHandler(fn: string, arg: string, target: string): FlowIOHandler | null {
  const scheme = schemeOf(target);
  const name = target.slice((scheme?.length ?? 0) + 3);
  if ((scheme === 'indexeddb' || scheme === 'downloads') && !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new InvalidArgumentError(fn, arg, target, `needs a name of letters, digits, '_', '.' or '-' after ${scheme}://, got {value}.`);
  }
  if (scheme === 'http' || scheme === 'https') return httpHandler(target);
  if (scheme === 'indexeddb') return indexedDbHandler(fn, arg, target, name);
  if (scheme === 'downloads') return downloadsHandler(fn, arg, target, name);
  if (scheme !== null && scheme !== 'file') throw new InvalidArgumentError(fn, arg, target, 'has a scheme biflow does not know, got {value}: use https://, http://, indexeddb://, downloads:// (saving), file:// or a path (Node).');
  return null;
}

/** Loads through `handler` (what loadFlow does once it has one); `label` names it in errors. */
export async function loadWith(handler: FlowIOHandler, label: string): Promise<Flow> {
  if (typeof handler.load !== 'function') throw new InvalidArgumentError('loadFlow', 'source', label, 'is {value}, which can only be saved to (downloads:// offers files, it cannot read them back). Load the downloaded files from where you put them.');
  const a: Located = await handler.load();
  const files = a.files ?? { config: label, weights: label };
  if (a.files === undefined) checkSaved(a.json, label, FIX); // a user handler's record gets the same checks
  return decodeFlow(a.json, a.weights, files);
}

/** Saves through `handler`; `label` names it in errors. */
export async function saveWith(flow: Flow, handler: FlowIOHandler, label: string): Promise<void> {
  if (typeof handler.save !== 'function') throw new InvalidArgumentError('saveFlow', 'target', label, 'is {value}, which can only be loaded from (http(s):// is read-only here). Save to indexeddb://name or downloads://name, or in Node to a folder.');
  await handler.save(await encodeFlow('saveFlow', flow));
}

/** The page's URL for a relative one (a browser resolves `model/` against the document); null outside pages. */
function pageUrl(target: string): string | null {
  const href = (globalThis as { location?: { href?: string } }).location?.href;
  return href && /^https?:/.test(href) ? new URL(target, href).href : null;
}

/**
 * Reads a flow saved by saveFlow from a URL (`https://…/model/`, `indexeddb://name`, a URL
 * relative to the page) or a {@link FlowIOHandler}. The browser entry's loadFlow; Node's also
 * takes paths and file://.
 *
 * @example
 * ```ts
 * const flow = await loadFlow('https://example.org/models/moons/');   // flow.json + weights.bin there
 * const lp = flow.logProb(tf.tensor2d([[0, 0]]));
 * ```
 */
export async function loadFlow(source: string | FlowIOHandler): Promise<Flow> {
  if (typeof source !== 'string') return loadWith(source, 'the handler');
  const handler = urlHandler('loadFlow', 'source', source);
  if (handler) return loadWith(handler, source);
  const url = schemeOf(source) === null ? pageUrl(source) : null;
  if (url) return loadWith(httpHandler(url), url);
  throw new InvalidArgumentError('loadFlow', 'source', source, 'is a file path, which needs Node, got {value}. In a browser load from a URL (https://…/model/) or indexeddb://name.');
}

/**
 * Writes `flow` to `indexeddb://name` (kept in the page's origin) or `downloads://name` (two
 * downloads, name.json and name.weights.bin), or through a {@link FlowIOHandler}. The browser
 * entry's saveFlow; Node's also writes folders.
 *
 * @example
 * ```ts
 * await saveFlow(flow, 'indexeddb://moons');
 * const back = await loadFlow('indexeddb://moons');
 * ```
 */
export async function saveFlow(flow: Flow, target: string | FlowIOHandler): Promise<void> {
  if (typeof target !== 'string') return saveWith(flow, target, 'the handler');
  const handler = urlHandler('saveFlow', 'target', target);
  if (!handler) throw new InvalidArgumentError('saveFlow', 'target', target, 'is a folder path, which needs Node, got {value}. In a browser save to indexeddb://name or downloads://name.');
  return saveWith(flow, handler, target);
}
