/**
 * `biflow compare` (several flow types trained side by side on the same data) and `biflow
 * tolerance` (a trained CNF's likelihood error, NFE and time at every solver × tolerance, plus the
 * ODE core's classic work-precision problems). Both write JSON, markdown and PNG figures into --out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { compare, compareFigure, compareMarkdown, COMPARE_COLUMNS } from '../biflow/compare.js';
import { loadFlow } from '../biflow/io.js';
import { FLOW_TYPES } from '../biflow/registry.js';
import type { FlowType } from '../biflow/registry.js';
import { problemSweep, toleranceSweepAsync } from '../biflow/tolerance.js';
import type { ProblemRow, SweepRow } from '../biflow/tolerance.js';
import { loadDataset } from '../data/dataset.js';
import { BiflowError } from '../errors.js';
import { OBJECTIVES } from '../ffjord/flow-matching.js';
import type { Objective } from '../ffjord/flow-matching.js';
import { METHOD_NAMES } from '../ode/index.js';
import type { MethodName } from '../ode/index.js';
import { gridFigure, logLogChart } from '../plot/charts.js';
import type { Series } from '../plot/charts.js';
import { common, finish, GRID, int, list, names, num, startBackend, writeFigure } from './options.js';
import type { Common } from './options.js';

/** One line per solver: y against x for the rows of that solver. */
function bySolver<R extends { solver: string }>(rows: readonly R[], x: (r: R) => number, y: (r: R) => number | null): Series[] {
  const solvers = [...new Set(rows.map((r) => r.solver))];
  return solvers.map((name) => ({ name, points: rows.filter((r) => r.solver === name && y(r) !== null).map((r) => [x(r), y(r)!] as [number, number]) }));
}

function toleranceMarkdown(rows: readonly SweepRow[]): string {
  const cols = ['solver', 'tol', 'steps', 'nll', 'nllError', 'pointError', 'nfe', 'seconds'] as const;
  const fmt = (v: unknown) => (v === null ? '—' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toExponential(3)) : String(v));
  return `| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n${rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`).join('\n')}\n`;
}

export function harnessCommands(prog: Command, out: (s: string) => void): void {
  common(prog.command('compare').description('train several flow types on the same data and seed; table of NLL, time, NFE, sampling speed and energy distance'))
    .requiredOption('--data <name|file>', 'toy dataset or data file')
    .addOption(new Option('--models <types>', 'comma-separated flow types').default(['ffjord', 'realnvp', 'glow', 'nsf', 'biflow']).argParser(names('models', FLOW_TYPES)))
    .addOption(new Option('--iters <n>', 'training iterations per model').default(1000).argParser(int('iters')))
    .addOption(new Option('--objectives <names>', "ml, and flow matching (cfm, ot-cfm) rows of the ffjord model, e.g. ml,cfm,ot-cfm").default(['ml']).argParser(names('objectives', OBJECTIVES)))
    .addOption(new Option('--generator-iters <n>', "biflow: the generator's iterations (default --iters)").argParser(int('generator-iters')))
    .addOption(new Option('--batch <n>', 'batch size').default(100).argParser(int('batch')))
    .addOption(new Option('--test-rows <n>', 'held-out rows evaluated').default(5000).argParser(int('test-rows')))
    .addOption(new Option('--samples <n>', 'samples per sampler (energy distance, timing)').default(1000).argParser(int('samples')))
    .addOption(new Option('--grid <n>', 'density grid cells per side in the figure (2-D data)').default(60).argParser(int('grid', GRID)))
    .addOption(new Option('--out <dir>', 'folder for compare.json, compare.md and compare.png').default('out/compare'))
    .action(async (o: Common & { data: string; models: FlowType[]; objectives: Objective[]; iters: number; generatorIters?: number; batch: number; testRows: number; samples: number; grid: number; out: string }) => {
      await startBackend(o);
      const data = loadDataset(o.data, { seed: o.seed });
      const { rows, panels } = await compare(data, {
        models: o.models, objectives: o.objectives, iters: o.iters, generatorIters: o.generatorIters, batch: o.batch, seed: o.seed, testRows: o.testRows, samples: o.samples, grid: o.grid,
        write: o.json ? undefined : (s) => process.stderr.write(s),
      });
      await mkdir(o.out, { recursive: true });
      const table = compareMarkdown(rows);
      const files = [path.join(o.out, 'compare.json'), path.join(o.out, 'compare.md')];
      await writeFile(files[0]!, JSON.stringify({ data: data.name, iters: o.iters, seed: o.seed, columns: COMPARE_COLUMNS, rows }, null, 2));
      await writeFile(files[1]!, table);
      if (panels.length) {
        files.push(path.join(o.out, 'compare.png'));
        await writeFigure(files[2]!, compareFigure(panels));
      }
      finish(o, [table.trimEnd(), `wrote ${files.join(', ')}`], { command: 'compare', data: data.name, columns: COMPARE_COLUMNS, rows, files }, out);
    });

  common(prog.command('tolerance').description("a trained CNF's likelihood error, NFE and time at each solver and tolerance, against a float64 reference; and the classic ODE work-precision problems"))
    .requiredOption('--model <dir>', 'model folder (a flow with a CNF block)')
    .requiredOption('--data <name|file>', 'dataset whose held-out rows are evaluated')
    .addOption(new Option('--tols <list>', 'rtol = atol values').default([1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]).argParser(list('tols')))
    .addOption(new Option('--solvers <list>', 'methods').default(['dopri5', 'tsit5', 'bosh3', 'rk4']).argParser(names('solvers', METHOD_NAMES)))
    .addOption(new Option('--steps <list>', 'steps of fixed-step methods').default([2, 4, 8, 16, 32, 64]).argParser(list('steps')))
    .addOption(new Option('--points <n>', 'held-out rows evaluated').default(500).argParser(int('points')))
    .addOption(new Option('--reference-tol <x>', 'tolerance of the float64 dopri8 reference').default(1e-10).argParser(num('reference-tol')))
    .option('--no-problems', 'skip the classic ODE problems')
    .addOption(new Option('--out <dir>', 'folder for tolerance.json, tolerance.md and the work-precision PNGs').default('out/tolerance'))
    .action(async (o: Common & { model: string; data: string; tols: number[]; solvers: MethodName[]; steps: number[]; points: number; referenceTol: number; problems: boolean; out: string }) => {
      await startBackend(o);
      const flow = await loadFlow(o.model);
      const data = loadDataset(o.data, { seed: o.seed });
      if (data.dim !== flow.dim) throw new BiflowError(`biflow tolerance: the model has dim ${flow.dim} but ${o.data} has ${data.dim} columns. Use data of the model's dimension.`);
      const rows = data.test.subarray(0, Math.min(o.points, data.test.length / data.dim) * data.dim);
      const sweep = await toleranceSweepAsync(flow, rows, { tols: o.tols, solvers: o.solvers, steps: o.steps, referenceTol: o.referenceTol });
      // NLLs in the data's own units (a tabular loader's standardisation adds its log-det); the errors are differences and unchanged.
      const offset = data.nllOffset ?? 0;
      sweep.reference.nll += offset;
      sweep.rows.forEach((r) => (r.nll += offset));
      flow.dispose();
      const problems: ProblemRow[] = o.problems ? problemSweep({ tols: o.tols, solvers: o.solvers, repeats: 3 }) : [];
      await mkdir(o.out, { recursive: true });
      const files = ['tolerance.json', 'tolerance.md', 'nll-error-vs-nfe.png', 'nll-error-vs-seconds.png'].map((f) => path.join(o.out, f));
      await writeFile(files[0]!, JSON.stringify({ model: o.model, data: data.name, ...sweep, problems }, null, 2));
      await writeFile(files[1]!, toleranceMarkdown(sweep.rows));
      const err = (r: SweepRow) => r.pointError;
      await writeFigure(files[2]!, logLogChart(bySolver(sweep.rows, (r) => r.nfe, err), { title: `log-likelihood error vs NFE (${sweep.points} points)`, xLabel: 'NFE (forward solve)', yLabel: 'mean |log p − log p_ref| (nats)' }));
      await writeFigure(files[3]!, logLogChart(bySolver(sweep.rows, (r) => r.seconds, err), { title: 'log-likelihood error vs time', xLabel: 'seconds', yLabel: 'mean |log p − log p_ref| (nats)' }));
      if (problems.length) {
        files.push(path.join(o.out, 'problems.png'));
        const charts = [...new Set(problems.map((p) => p.problem))].map((name) => logLogChart(bySolver(problems.filter((p) => p.problem === name), (p) => p.nfe, (p) => p.error), { title: name, xLabel: 'NFE', yLabel: 'relative error at t1' }));
        await writeFigure(files[4]!, gridFigure([charts.slice(0, 2), charts.slice(2, 4)], { cell: 640, title: 'work-precision: classic problems' }));
      }
      const best = sweep.rows.reduce((a, b) => (b.pointError < a.pointError ? b : a));
      finish(o, [
        `reference (float64 dopri8, tol ${sweep.reference.tol}): NLL ${sweep.reference.nll.toFixed(6)} nats on ${sweep.points} points`,
        toleranceMarkdown(sweep.rows).trimEnd(),
        `smallest error ${best.pointError.toExponential(2)} nats (${best.solver}, ${best.tol ?? `${best.steps} steps`}); wrote ${files.join(', ')}`,
      ], { command: 'tolerance', reference: sweep.reference, points: sweep.points, rows: sweep.rows, problems, files }, out);
    });
}
