/**
 * Saving and loading flows: a JSON configuration plus the weights in the tfjs weights format (a
 * manifest of names, shapes and dtypes, and one `.bin` of little-endian float32 data).
 *
 * Writing is atomic: everything goes to a sibling temporary folder that then replaces the target,
 * so a crash mid-save leaves the previous save intact. Loading validates everything before it
 * builds anything, and fails with a typed error that names the file and what is wrong.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend/engine.js';
import { BiflowError } from '../errors.js';
import { ActNorm } from '../discrete/elementwise.js';
import type { Bijector } from '../flows/bijector.js';
import { leafBlocks } from '../flows/compose.js';
import type { Flow } from '../flows/flow.js';
import { generatorFromConfig } from './generator.js';
import type { GeneratorConfig } from './generator.js';
import { createFlow } from './registry.js';
import type { FlowConfig } from './registry.js';

const FORMAT = 'biflow-flow';
const VERSION = 1;
const CONFIG_FILE = 'flow.json';
const WEIGHTS_FILE = 'weights.bin';

/** A saved model is missing, unreadable or inconsistent. */
export class ModelFileError extends BiflowError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
  ) {
    super(`loadFlow: ${file}: ${problem}. ${fix}`);
  }
}

interface SavedFlow {
  format: string;
  version: number;
  config: FlowConfig;
  /** Data-dependent state that is not a weight: which ActNorm layers have been initialised. */
  actnormInitialized: boolean[];
  /** The attached one-pass generator, if any; its weights follow the flow's. */
  generator?: GeneratorConfig;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

const actnorms = (b: Bijector): ActNorm[] => leafBlocks(b).filter((x): x is ActNorm => x instanceof ActNorm);

/** Writes `flow` to the folder `dir` (created or replaced atomically). */
export async function saveFlow(flow: Flow, dir: string): Promise<void> {
  if (!flow.config) throw new BiflowError('saveFlow: this flow was not built by createFlow, so it has no configuration to save. Build it with createFlow({ type, dim, … }).');
  const vars = [...flow.trainableVariables, ...(flow.generator?.trainableVariables ?? [])];
  const named = vars.map((v, i) => ({ name: `w${i}`, tensor: v as tf.Tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const saved: SavedFlow = {
    format: FORMAT,
    version: VERSION,
    config: flow.config as unknown as FlowConfig,
    actnormInitialized: actnorms(flow.bijector).map((a) => a.initialized),
    ...(flow.generator ? { generator: flow.generator.getConfig() as GeneratorConfig } : {}),
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  await writeFolderAtomically(dir, async (tmp) => {
    await writeFile(path.join(tmp, WEIGHTS_FILE), new Uint8Array(data));
    await writeFile(path.join(tmp, CONFIG_FILE), JSON.stringify(saved, null, 2));
  });
}

/**
 * Fills a sibling temporary folder, then swaps it in for `dir`: readers see the old folder or the
 * new one, never a half-written one, and a crash leaves the old one in place.
 */
export async function writeFolderAtomically(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const target = path.resolve(dir);
  const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${target}.tmp-${stamp}`;
  await mkdir(path.dirname(target), { recursive: true });
  await mkdir(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${target}.old-${stamp}`;
  if (existsSync(target)) await rename(target, old);
  await rename(tmp, target);
  await rm(old, { recursive: true, force: true });
}

/** Reads a flow saved by {@link saveFlow}. */
export async function loadFlow(dir: string): Promise<Flow> {
  const configPath = path.join(dir, CONFIG_FILE);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const fix = `Point loadFlow at a folder written by saveFlow (it holds ${CONFIG_FILE} and ${WEIGHTS_FILE}).`;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    throw new ModelFileError(configPath, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix);
  }
  let saved: SavedFlow;
  try {
    saved = JSON.parse(text) as SavedFlow;
  } catch (e) {
    throw new ModelFileError(configPath, `is not valid JSON (${(e as Error).message})`, 'The save was interrupted or the file was edited; save the model again.');
  }
  if (saved?.format !== FORMAT || saved.version !== VERSION || !saved.config || !Array.isArray(saved.weightsManifest)) {
    throw new ModelFileError(configPath, `is not a ${FORMAT} v${VERSION} file`, fix);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(weightsPath);
  } catch (e) {
    throw new ModelFileError(weightsPath, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix);
  }
  const specs = saved.weightsManifest.flatMap((m) => m.weights);
  const expected = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.byteLength !== expected || specs.some((s) => s.dtype !== 'float32')) {
    throw new ModelFileError(weightsPath, `holds ${bytes.byteLength} bytes where the manifest describes ${expected}`, 'The file is truncated or belongs to another model; save the model again.');
  }
  const flow = createFlow(saved.config);
  if (saved.generator) flow.generator = generatorFromConfig(saved.generator);
  const vars = [...flow.trainableVariables, ...(flow.generator?.trainableVariables ?? [])];
  if (vars.length !== specs.length || vars.some((v, i) => v.shape.join() !== specs[i]!.shape.join())) {
    flow.dispose();
    throw new ModelFileError(configPath, `describes ${specs.length} weights that do not match the ${vars.length} of a '${saved.config.type}' flow built from its configuration`, 'The file was written by an incompatible version; retrain or re-save the model.');
  }
  const weights = tf.io.decodeWeights(new Uint8Array(bytes).buffer as ArrayBuffer, specs);
  vars.forEach((v, i) => v.assign(weights[`w${i}`]!));
  tf.dispose(Object.values(weights));
  actnorms(flow.bijector).forEach((a, i) => (a.initialized = saved.actnormInitialized?.[i] ?? true));
  return flow;
}
