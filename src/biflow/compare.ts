/**
 * The comparison harness: trains several flow types on the same data, split and seed, and tabulates
 * test NLL, parameters, training time, NFE, sampling time for each sampler and the energy distance
 * of samples to held-out data. The 'biflow' entry is a mixed stack plus its one-pass generator.
 * With `objectives`, the 'ffjord' model also gets a row per flow-matching objective (cfm, ot-cfm).
 *
 * @example
 * const { rows, panels } = await compare(loadDataset('8gaussians'), { models: ['realnvp', 'ffjord', 'biflow'], iters: 500 });
 * console.log(compareMarkdown(rows));
 */
import { InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { OBJECTIVES } from '../ffjord/flow-matching.js';
import type { Objective } from '../ffjord/flow-matching.js';
import type { Flow } from '../flows/flow.js';
import { gridFigure } from '../plot/charts.js';
import { densityFigure, samplesFigure } from '../plot/figures.js';
import { train } from './train-flow.js';
import { trainGenerator } from './train-generator.js';
import { samplerReportAsync } from './metrics.js';
import { createFlow, FLOW_TYPES } from './registry.js';
import type { FlowConfig, FlowType } from './registry.js';

/** Options of {@link compare}. */
export interface CompareOptions {
  models?: FlowType[];
  iters?: number;
  /** Generator iterations of the 'biflow' entry (default: iters). */
  generatorIters?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Held-out rows used for NLL and energy distance (default all, at most 5000). */
  testRows?: number;
  /** Samples drawn per sampler for energy distance and timing (default 1000). */
  samples?: number;
  /**
   * Training objectives (default ['ml']): 'ml' trains every model; 'cfm' / 'ot-cfm' add a row of
   * the 'ffjord' model trained by flow matching (the one model type with a single CNF block).
   */
  objectives?: Objective[];
  /** Extra configuration per model type, merged into `{ type, dim, seed }`. */
  configs?: Partial<Record<FlowType, Partial<FlowConfig>>>;
  /** 2-D data: the density grid and region of the figure panels (default 60, [-4, 4, -4, 4]). */
  grid?: number;
  extent?: [number, number, number, number];
  /** Progress lines (default: none). */
  write?: (s: string) => void;
}

/** One model's line of the comparison table. */
export interface CompareRow {
  model: FlowType;
  objective: Objective;
  testNll: number;
  params: number;
  trainSeconds: number;
  /** NFE of the last training iteration (CNF models; null for discrete ones). */
  nfeForward: number | null;
  nfeBackward: number | null;
  sampleSecondsInverse: number;
  sampleSecondsGenerator: number | null;
  energyInverse: number;
  energyGenerator: number | null;
  generatorTrainSeconds: number | null;
  reconstructionData: number | null;
}

/** What the figure shows per model (2-D data only). */
export interface ComparePanel {
  /** The model type, with the objective where it is not 'ml' (e.g. 'ffjord ot-cfm'). */
  model: string;
  density: Float32Array;
  samplesInverse: Float32Array;
  samplesGenerator: Float32Array | null;
}

/** The table's columns, in order (every row has each of them). */
export const COMPARE_COLUMNS: readonly (keyof CompareRow)[] = [
  'model', 'objective', 'testNll', 'params', 'trainSeconds', 'nfeForward', 'nfeBackward', 'sampleSecondsInverse', 'sampleSecondsGenerator',
  'energyInverse', 'energyGenerator', 'generatorTrainSeconds', 'reconstructionData',
];

/**
 * Trains and evaluates each model type in turn; every model is disposed before the next.
 *
 * @example
 * ```ts
 * import { compare, compareMarkdown, loadDataset } from 'biflow';
 *
 * const { rows, panels } = await compare(loadDataset('8gaussians'), { models: ['realnvp', 'nsf'], iters: 50, samples: 200 });
 * console.log(compareMarkdown(rows));
 * panels.length; // 2: one figure row per model (compareFigure)
 * ```
 */
export async function compare(data: Dataset, options: CompareOptions = {}): Promise<{ rows: CompareRow[]; panels: ComparePanel[] }> {
  const fn = 'compare';
  const { models = ['ffjord', 'realnvp', 'glow', 'nsf', 'biflow'], iters = 1000, batch = 100, lr = 1e-3, seed = 0, samples = 1000, grid = 60, extent = [-4, 4, -4, 4] } = options;
  if (!Array.isArray(models) || models.length === 0 || models.some((m) => !FLOW_TYPES.includes(m))) {
    throw new InvalidArgumentError(fn, 'models', models, `must be a non-empty list of flow types among ${FLOW_TYPES.join(', ')}, got {value}.`);
  }
  const objectives = options.objectives ?? ['ml'];
  if (!Array.isArray(objectives) || objectives.length === 0 || objectives.some((o) => !OBJECTIVES.includes(o))) {
    throw new InvalidArgumentError(fn, 'objectives', objectives, `must be a non-empty list among ${OBJECTIVES.join(', ')}, got {value}.`);
  }
  const runs = models.flatMap((model) => objectives.filter((o) => o === 'ml' || model === 'ffjord').map((objective) => ({ model, objective })));
  if (runs.length === 0) throw new InvalidArgumentError(fn, 'objectives', objectives, "trains only 'ffjord' by flow matching; add 'ml' or the 'ffjord' model, got {value}.");
  const testRows = Math.min(options.testRows ?? 5000, data.test.length / data.dim);
  const test = data.test.subarray(0, testRows * data.dim);
  const write = options.write ?? (() => {});
  const rows: CompareRow[] = [];
  const panels: ComparePanel[] = [];
  for (const { model, objective } of runs) {
    const name = objective === 'ml' ? model : `${model} ${objective}`;
    const config: FlowConfig = { type: model, dim: data.dim, seed, ...(model === 'ffjord' || model === 'biflow' ? { cnf: { trace: 'hutchinson' } } : {}), ...options.configs?.[model] };
    const flow = createFlow(config);
    try {
      write(`${name}: training ${iters} iterations\n`);
      const result = await train(flow, data, { iters, batch, lr, progress: 'none', ...(objective === 'ml' ? {} : { objective, seed }) });
      // Flow matching solves no ODE while training: no training NFE.
      const stats = objective === 'ml' ? flow.stats() : {};
      let generatorTrainSeconds: number | null = null;
      if (model === 'biflow') {
        write(`${model}: training the one-pass generator\n`);
        generatorTrainSeconds = (await trainGenerator(flow, data, { iters: options.generatorIters ?? iters, batch, lr, seed, progress: 'none' })).result.seconds;
      }
      // Exact (the default, whatever trained it), in the data's own units: a loader's standardisation is part of the model (its log-det added).
      // The async forms: the same numbers where reads are synchronous, and WebGPU runs them too.
      const testNll = (await flow.nllAsync(test)) + (data.nllOffset ?? 0);
      const report = await samplerReportAsync(flow, test, { samples, seed });
      rows.push({
        model, objective, testNll, params: flow.trainableVariables.reduce((n, v) => n + v.size, 0) + (flow.generator?.trainableVariables.reduce((n, v) => n + v.size, 0) ?? 0),
        trainSeconds: result.seconds, nfeForward: stats.nfeForward ?? null, nfeBackward: stats.nfeBackward ?? null,
        sampleSecondsInverse: report.secondsInverse, sampleSecondsGenerator: report.secondsGenerator, energyInverse: report.energyInverse,
        energyGenerator: report.energyGenerator, generatorTrainSeconds, reconstructionData: report.reconstructionData,
      });
      if (data.dim === 2) panels.push(await panelOf(flow, name, grid, extent, samples, seed));
    } finally {
      flow.dispose();
    }
  }
  return { rows, panels };
}

async function panelOf(flow: Flow, model: string, grid: number, extent: [number, number, number, number], samples: number, seed: number): Promise<ComparePanel> {
  const draw = async (via: 'inverse' | 'generator') => {
    const s = await flow.sampleAsync(samples, { seed, via });
    try {
      return (await s.data()) as Float32Array;
    } finally {
      s.dispose();
    }
  };
  return { model, density: await flow.densityGridAsync(extent, grid), samplesInverse: await draw('inverse'), samplesGenerator: flow.generator ? await draw('generator') : null };
}

const fmt = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));

/**
 * The rows as a markdown table with every column.
 *
 * @example
 * ```ts
 * import { compare, compareMarkdown, loadDataset } from 'biflow';
 *
 * const { rows } = await compare(loadDataset('moons'), { models: ['nice'], iters: 20, samples: 100 });
 * compareMarkdown(rows); // '| model | testNll | params | … |' with one line per model
 * ```
 */
export function compareMarkdown(rows: readonly CompareRow[]): string {
  const head = `| ${COMPARE_COLUMNS.join(' | ')} |\n|${COMPARE_COLUMNS.map(() => '---').join('|')}|\n`;
  return head + rows.map((r) => `| ${COMPARE_COLUMNS.map((c) => fmt(r[c])).join(' | ')} |`).join('\n') + '\n';
}

/**
 * One figure: a row per model with its density, inverse samples and (biflow) generator samples.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { compare, compareFigure, loadDataset } from 'biflow';
 *
 * const { panels } = await compare(loadDataset('8gaussians'), { models: ['realnvp'], iters: 50, samples: 200, grid: 40 });
 * writeFileSync('compare.svg', compareFigure(panels)); // density with a colour bar in nats, samples with axes
 * ```
 */
export function compareFigure(panels: readonly ComparePanel[], extent: [number, number, number, number] = [-4, 4, -4, 4], title = 'density · samples (inverse) · samples (generator)'): string {
  const rows = panels.map((p) => [
    densityFigure(p.density, Math.round(Math.sqrt(p.density.length)), extent, { title: `${p.model}: density` }),
    samplesFigure(p.samplesInverse, extent, { title: `${p.model}: exact inverse` }),
    ...(p.samplesGenerator ? [samplesFigure(p.samplesGenerator, extent, { title: `${p.model}: one-pass generator` })] : []),
  ]);
  return gridFigure(rows, { cell: 480, labels: panels.map((p) => p.model), title });
}
