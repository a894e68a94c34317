/**
 * The saved-flow format, with no I/O: a JSON record (`flow.json`: configuration, data-dependent
 * state, the tfjs weights manifest) and the weights as little-endian float32 bytes in the files
 * the manifest lists (`weights.bin`). Every loader — folders (Node), URLs, IndexedDB, a handler —
 * parses and builds through here, so each validates the same way before it builds anything.
 */
import { tf } from '../backend/engine.js';
import { float32Bytes } from '../backend/memory.js';
import { BiflowError } from '../errors.js';
import { ActNorm } from '../discrete/elementwise.js';
import { CNF } from '../ffjord/cnf.js';
import type { Bijector } from '../flows/bijector.js';
import { leafBlocks } from '../flows/compose.js';
import type { Flow } from '../flows/flow.js';
import { Standardize } from '../flows/standardize.js';
import type { StandardizationState } from '../flows/standardize.js';
import { generatorFromConfig } from './generator.js';
import type { GeneratorConfig } from './generator.js';
import { createFlow } from './registry.js';
import type { FlowConfig } from './registry.js';

export const FORMAT = 'biflow-flow';
export const VERSION = 1;
export const CONFIG_FILE = 'flow.json';
export const WEIGHTS_FILE = 'weights.bin';

/** A saved model is missing, unreadable or inconsistent; `file` is its path or URL. */
export class ModelFileError extends BiflowError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
  ) {
    super(`loadFlow: ${file}: ${problem}. ${fix}`);
  }
}

/** What flow.json holds. */
export interface SavedFlow {
  format: string;
  version: number;
  config: FlowConfig;
  /** Data-dependent state that is not a weight: which ActNorm layers have been initialised. */
  actnormInitialized: boolean[];
  /** Each CNF block's probe counter (its random state), so a resumed run draws the same probes. */
  probeStates?: number[];
  /** The attached one-pass generator, if any; its weights follow the flow's. */
  generator?: GeneratorConfig;
  /** A conditional flow's fitted standardisations of x and of the context (absent: not fitted). */
  standardization?: { x?: StandardizationState; context?: StandardizationState };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** A saved flow in memory: what a {@link FlowIOHandler} loads and saves (tf.io's ModelArtifacts). */
export interface FlowArtifacts {
  json: SavedFlow;
  /** The weights, the files of the manifest's paths concatenated in order. */
  weights: ArrayBuffer;
}

/** Storage for a saved flow, as tf.io's IOHandler: `loadFlow(handler)` calls load, `saveFlow(flow, handler)` save. */
export interface FlowIOHandler {
  /** Reads a saved flow (loadFlow checks it as it checks a file). */
  load?(): Promise<FlowArtifacts>;
  /** Keeps a saved flow. */
  save?(artifacts: FlowArtifacts): Promise<void>;
}

const actnorms = (b: Bijector): ActNorm[] => leafBlocks(b).filter((x): x is ActNorm => x instanceof ActNorm);
const cnfs = (b: Bijector): CNF[] => leafBlocks(b).filter((x): x is CNF => x instanceof CNF);
const standardizer = (b: Bijector) => leafBlocks(b).find((x): x is Standardize => x instanceof Standardize)?.stats ?? null;

/** The fitted standardisations of a flow, as flow.json records them (none fitted: undefined). */
function standardizationOf(flow: Flow): SavedFlow['standardization'] {
  const x = standardizer(flow.bijector);
  const c = flow.contextStandardizer;
  const out = { ...(x?.fitted ? { x: x.state } : {}), ...(c?.fitted ? { context: c.state } : {}) };
  return Object.keys(out).length > 0 ? out : undefined;
}
/** A weights file name: plain, relative, in the same folder (no '..', no '/'), so no loader reads outside it. */
const SAFE_NAME = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/;

/** Encodes `flow`, its weights going to one file, weights.bin. */
export async function encodeFlow(fn: string, flow: Flow): Promise<FlowArtifacts> {
  if (!flow.config) throw new BiflowError(`${fn}: this flow was not built by createFlow, so it has no configuration to save. Build it with createFlow({ type, dim, … }).`);
  const vars = [...flow.trainableVariables, ...(flow.generator?.trainableVariables ?? [])];
  const { data, specs } = await tf.io.encodeWeights(vars.map((v, i) => ({ name: `w${i}`, tensor: v as tf.Tensor })));
  const json: SavedFlow = {
    format: FORMAT,
    version: VERSION,
    config: flow.config as unknown as FlowConfig,
    actnormInitialized: actnorms(flow.bijector).map((a) => a.initialized),
    probeStates: cnfs(flow.bijector).map((c) => c.probeState),
    ...(flow.generator ? { generator: flow.generator.getConfig() as GeneratorConfig } : {}),
    ...(standardizationOf(flow) ? { standardization: standardizationOf(flow) } : {}),
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  return { json, weights: data };
}

/** Parses and checks flow.json's text (`file` names it in errors); `fix` says where a model comes from. */
export function parseSaved(text: string, file: string, fix: string): SavedFlow {
  let saved: SavedFlow;
  try {
    saved = JSON.parse(text) as SavedFlow;
  } catch (e) {
    throw new ModelFileError(file, `is not valid JSON (${(e as Error).message})`, 'The save was interrupted or the file was edited; save the model again.');
  }
  checkSaved(saved, file, fix);
  return saved;
}

/** Checks a parsed flow.json: format, version, probe states and safe weight file names. */
export function checkSaved(saved: SavedFlow, file: string, fix: string): void {
  if (saved?.format !== FORMAT || saved.version !== VERSION || !saved.config || !Array.isArray(saved.weightsManifest)) {
    throw new ModelFileError(file, `is not a ${FORMAT} v${VERSION} file`, fix);
  }
  if (saved.probeStates !== undefined && (!Array.isArray(saved.probeStates) || saved.probeStates.some((n) => !Number.isInteger(n) || n < 0))) {
    throw new ModelFileError(file, `has probeStates ${JSON.stringify(saved.probeStates)}, not a list of non-negative integers`, 'The file was edited; save the model again.');
  }
  const bad = saved.weightsManifest.flatMap((m) => (Array.isArray(m?.paths) ? m.paths : [m?.paths])).find((p) => typeof p !== 'string' || !SAFE_NAME.test(p));
  if (bad !== undefined) throw new ModelFileError(file, `lists the weights file ${JSON.stringify(bad)}, not a plain file name beside it`, 'The file was edited; save the model again.');
}

/** The weight files flow.json lists, in order. */
export const weightFiles = (saved: SavedFlow): string[] => saved.weightsManifest.flatMap((m) => m.paths);

/** Concatenates the bytes of several weight files. */
export function concatBytes(parts: readonly Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

/**
 * Builds the flow `saved` describes with the weights `bytes`; `files` name the record and the
 * weights in errors. Checks sizes and shapes first; builds nothing (no tensor) on a mismatch.
 */
export function decodeFlow(saved: SavedFlow, bytes: ArrayBuffer, files: { config: string; weights: string }): Flow {
  const specs = saved.weightsManifest.flatMap((m) => m.weights);
  const expected = float32Bytes(specs);
  if (bytes.byteLength !== expected || specs.some((s) => s.dtype !== 'float32')) {
    throw new ModelFileError(files.weights, `holds ${bytes.byteLength} bytes where the manifest describes ${expected}`, 'The file is truncated or belongs to another model; save the model again.');
  }
  const flow = createFlow(saved.config);
  if (saved.generator) flow.generator = generatorFromConfig(saved.generator);
  const vars = [...flow.trainableVariables, ...(flow.generator?.trainableVariables ?? [])];
  if (vars.length !== specs.length || vars.some((v, i) => v.shape.join() !== specs[i]!.shape.join())) {
    flow.dispose();
    throw new ModelFileError(files.config, `describes ${specs.length} weights that do not match the ${vars.length} of a '${saved.config.type}' flow built from its configuration`, 'The file was written by an incompatible version; retrain or re-save the model.');
  }
  const weights = tf.io.decodeWeights(bytes, specs);
  vars.forEach((v, i) => v.assign(weights[`w${i}`]!));
  tf.dispose(Object.values(weights));
  actnorms(flow.bijector).forEach((a, i) => (a.initialized = saved.actnormInitialized?.[i] ?? true));
  cnfs(flow.bijector).forEach((c, i) => c.setProbeState(saved.probeStates?.[i] ?? 0));
  try {
    const { x, context } = saved.standardization ?? {};
    if (x) standardizer(flow.bijector)?.set(x);
    if (context) flow.contextStandardizer?.set(context);
  } catch (e) {
    flow.dispose();
    throw new ModelFileError(files.config, `has a standardization that does not fit the flow (${(e as Error).message})`, 'The file was edited; save the model again.');
  }
  return flow;
}
