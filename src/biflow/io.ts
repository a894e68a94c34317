/**
 * Saving and loading flows: a JSON configuration plus the weights in the tfjs weights format (a
 * manifest of names, shapes and dtypes, and one `.bin` of little-endian float32 data).
 *
 * Writing is atomic: everything goes to a sibling temporary folder that then replaces the target,
 * so a crash mid-save leaves the previous save intact. A save replaces only a previous save: the
 * target must be new, an empty folder, or a folder holding exactly what saveFlow wrote there
 * (flow.json and the files its manifest lists); anything else is refused with an
 * OutputPathError and left untouched. Loading validates everything before it builds anything,
 * and fails with a typed error that names the file and what is wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend/engine.js';
import { BiflowError } from '../errors.js';
import { ActNorm } from '../discrete/elementwise.js';
import { CNF } from '../ffjord/cnf.js';
import { inspectTarget, OutputPathError, someFiles, writeFolderAtomically } from '../train/folders.js';
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
  /** Each CNF block's probe counter (its random state), so a resumed run draws the same probes. */
  probeStates?: number[];
  /** The attached one-pass generator, if any; its weights follow the flow's. */
  generator?: GeneratorConfig;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

const actnorms = (b: Bijector): ActNorm[] => leafBlocks(b).filter((x): x is ActNorm => x instanceof ActNorm);
const cnfs = (b: Bijector): CNF[] => leafBlocks(b).filter((x): x is CNF => x instanceof CNF);

/** The files of a saveFlow folder (flow.json and its manifest's paths), or null if `dir` is not one. */
function savedFiles(dir: string): string[] | null {
  try {
    const saved = JSON.parse(readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as SavedFlow;
    return saved?.format === FORMAT && Array.isArray(saved.weightsManifest) ? [CONFIG_FILE, ...saved.weightsManifest.flatMap((m) => m.paths)] : null;
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

/**
 * Writes `flow` to the folder `dir`, created or replaced atomically. `dir` must be new, an empty
 * folder, or a folder an earlier saveFlow wrote (replaced without asking: it holds nothing else);
 * anything else is refused with {@link OutputPathError} and left as it is.
 */
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
    probeStates: cnfs(flow.bijector).map((c) => c.probeState),
    ...(flow.generator ? { generator: flow.generator.getConfig() as GeneratorConfig } : {}),
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  await writeFolderAtomically(dir, async (tmp) => {
    await writeFile(path.join(tmp, WEIGHTS_FILE), new Uint8Array(data));
    await writeFile(path.join(tmp, CONFIG_FILE), JSON.stringify(saved, null, 2));
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

/** Reads a flow saved by {@link saveFlow}, from its folder or from a training run's folder (its model/). */
export async function loadFlow(dir: string): Promise<Flow> {
  dir = modelFolder(dir);
  const configPath = path.join(dir, CONFIG_FILE);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const fix = `Point loadFlow at a folder written by saveFlow (it holds ${CONFIG_FILE} and ${WEIGHTS_FILE}) or by biflow train --out (it holds model/).`;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(configPath, `cannot be read (${code ?? (e as Error).message})${code === 'ENOENT' ? `: ${dir} holds no model, nor does its model/` : ''}`, fix);
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
  if (saved.probeStates !== undefined && (!Array.isArray(saved.probeStates) || saved.probeStates.some((n) => !Number.isInteger(n) || n < 0))) {
    throw new ModelFileError(configPath, `has probeStates ${JSON.stringify(saved.probeStates)}, not a list of non-negative integers`, 'The file was edited; save the model again.');
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
  cnfs(flow.bijector).forEach((c, i) => c.setProbeState(saved.probeStates?.[i] ?? 0));
  return flow;
}

export { writeFolderAtomically };
