#!/usr/bin/env node
/**
 * The `biflow` command: train, evaluate, sample and plot flows; compare them; sweep solver
 * tolerances; benchmark an FFJORD iteration against PyTorch; list the ODE methods.
 * Every command takes --seed, --backend and --json (the last line is then one JSON object).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { tf } from '../backend/engine.js';
import { createFlow, FLOW_TYPES } from '../biflow/registry.js';
import type { FlowConfig, FlowType } from '../biflow/registry.js';
import { loadFlow, saveFlow } from '../biflow/io.js';
import { trainGenerator } from '../biflow/train-generator.js';
import { BLOCK_KINDS, Stack } from '../biflow/stack.js';
import type { BlockKind } from '../biflow/stack.js';
import { loadDataset } from '../data/dataset.js';
import { BiflowError } from '../errors.js';
import { leafBlocks } from '../flows/compose.js';
import { CNF } from '../ffjord/cnf.js';
import { OBJECTIVES } from '../ffjord/flow-matching.js';
import type { Objective } from '../ffjord/flow-matching.js';
import { METHOD_NAMES, methodInfo, runDeferred } from '../ode/index.js';
import type { GradientMode, MethodName } from '../ode/index.js';
import { densityFigure, samplesFigure, trajectoryFigure } from '../plot/figures.js';
import type { Extent } from '../plot/figures.js';
import { checkRunFolder } from '../train/checkpoint.js';
import { checkUnlocked, withFolderLock } from '../train/lock.js';
import { train } from '../biflow/train-node.js';
import { common, extent, finish, GRID, int, list, names, num, outFile, startBackend, USAGE_EXIT, UsageError, writeFigure } from './options.js';
import type { Common } from './options.js';
import { harnessCommands } from './harness.js';
import { refuseResumeConflicts } from './resume.js';
import { benchCommands } from './bench.js';
import { checkContextData, checkDataContext, contextColumnsOption, contextFileOption, contextFromFlags, contextValuesOption } from './context.js';

/** The package's own package.json: two levels up from src/cli, three from dist/src/cli. */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'biflow') return pkg.version;
    }
  }
  return 'unknown';
}

/**
 * The test NLL in the data's own units; where the loader standardised the rows (tabular sets),
 * also the NLL of the standardised rows, the figure MAF/FFJORD tables report, clearly named.
 */
function testNllOf(standardizedNll: number, offset = 0): { testNll: number; units: { text: string; json: Record<string, number> } } {
  if (!offset) return { testNll: standardizedNll, units: { text: '', json: {} } };
  return {
    testNll: standardizedNll + offset,
    units: { text: ` in data units (${standardizedNll.toFixed(4)} nats on the standardised rows)`, json: { testNllStandardized: standardizedNll } },
  };
}

/** The exit-status rule, shown under `biflow --help`. */
const EXIT_STATUS = `
Exit status: 0 done; 1 the command failed (data, files, model, backend); ${USAGE_EXIT} the command line
is wrong (unknown command or option, a missing, malformed or out-of-range value), found before
anything runs. Add --verbose to a command to hear why --backend auto passed over other backends.`;

export function program(out: (s: string) => void = (s) => console.log(s)): Command {
  const prog = new Command('biflow').version(packageVersion()).description('Continuous and discrete normalizing flows and ODE solvers').exitOverride()
    .addHelpText('after', EXIT_STATUS);

  common(prog.command('train').description('train a flow on a toy density or a .csv/.npy file'))
    .requiredOption('--data <name|file>', 'toy dataset (8gaussians, checkerboard, …), data file, or tabular folder as power:DIR (gas, hepmass, miniboone, bsds300, tabular)')
    .addOption(new Option('--model <type>', 'flow type').choices([...FLOW_TYPES]).default('realnvp'))
    .addOption(new Option('--iters <n>', 'iterations').default(1000).argParser(int('iters')))
    .addOption(new Option('--batch <n>', 'batch size').default(100).argParser(int('batch')))
    .addOption(new Option('--lr <x>', 'Adam learning rate').default(1e-3).argParser(num('lr')))
    .addOption(new Option('--weight-decay <x>', 'decoupled weight decay').default(0).argParser(num('weight-decay')))
    .addOption(new Option('--hidden <sizes>', 'hidden sizes, e.g. 64,64').argParser(list('hidden')))
    .addOption(new Option('--layers <n>', 'coupling layers / steps').argParser(int('layers')))
    .option('--autoregressive', 'nsf, realnvp: masked autoregressive transforms (MAF, as zuko\'s NSF) instead of couplings')
    .addOption(new Option('--checkpoint-every <n>', 'checkpoint every N iterations').default(0).argParser(int('checkpoint-every')))
    .addOption(new Option('--log-every <n>', 'log (and print a progress line) every N iterations').default(50).argParser(int('log-every')))
    .addOption(new Option('--solver <method>', 'ffjord: ODE method').choices([...METHOD_NAMES]).default('dopri5'))
    .addOption(new Option('--tol <x>', 'ffjord: rtol = atol of the solves').default(1e-5).argParser(num('tol')))
    .addOption(new Option('--trace <estimator>', 'ffjord: divergence while training').choices(['exact', 'hutchinson']).default('hutchinson'))
    .addOption(new Option('--gradient <mode>', 'ffjord: gradient of the solves').choices(['direct', 'backsolve', 'checkpoint']).default('backsolve'))
    .addOption(new Option('--kinetic-weight <x>', 'ffjord: RNODE kinetic-energy weight').default(0).argParser(num('kinetic-weight')))
    .addOption(new Option('--jacobian-weight <x>', 'ffjord: RNODE Jacobian-norm weight').default(0).argParser(num('jacobian-weight')))
    .addOption(new Option('--blocks <kinds>', `biflow: the stack, data side first, e.g. actnorm,cnf,lu,spline,cnf (kinds: ${BLOCK_KINDS.join(', ')})`).argParser(names('blocks', BLOCK_KINDS)))
    .addOption(new Option('--cnf-hidden <sizes>', 'biflow: hidden sizes of the CNF blocks, e.g. 64,64,64').argParser(list('cnf-hidden')))
    .addOption(new Option('--generator-iters <n>', 'biflow: then train the one-pass generator for N iterations (default: --iters; 0: none)').argParser(int('generator-iters')))
    .addOption(new Option('--interior <k>', 'biflow: interior ODE times per CNF block the generator aligns to').default(3).argParser(int('interior')))
    .addOption(new Option('--objective <name>', 'ml: maximum likelihood; cfm / ot-cfm: flow matching of the CNF block (ffjord, or biflow with one cnf block)').choices([...OBJECTIVES]).default('ml'))
    .addOption(new Option('--sigma <x>', 'cfm, ot-cfm: width of the Gaussian path (default 0)').argParser(num('sigma')))
    .addOption(new Option('--eval-every <n>', 'every N iterations, log the exact held-out NLL (0: never)').default(0).argParser(int('eval-every')))
    .addOption(contextColumnsOption())
    .option('--no-standardize', 'conditional flow: do not z-score x and the context (on by default, as sbi does)')
    .option('--resume', 'continue the run stored in --out')
    .option('--overwrite', 'replace the run stored in --out (only a run biflow wrote is ever replaced)')
    .requiredOption('--out <dir>', 'run folder: model/, train.json, optimizer.bin (new, empty, or a run to --resume/--overwrite)')
    .action(async (o: Common & {
      data: string; model: FlowType; iters: number; batch: number; lr: number; weightDecay: number; hidden?: number[]; layers?: number; autoregressive?: boolean;
      checkpointEvery: number; logEvery: number; resume?: boolean; overwrite?: boolean; out: string; solver: MethodName; tol: number; trace: 'exact' | 'hutchinson';
      gradient: GradientMode; kineticWeight: number; jacobianWeight: number; blocks?: BlockKind[]; cnfHidden?: number[]; generatorIters?: number; interior: number;
      objective: Objective; sigma?: number; evalEvery: number; context?: string[]; standardize: boolean;
    }, cmd: Command) => {
      const fn = 'biflow train';
      if (o.resume && o.overwrite) throw new UsageError(fn, '--overwrite', true, 'cannot go with --resume: continue the run in --out or replace it, not both.');
      // Before anything is loaded or trained: --out must be new, empty, or a run biflow wrote (continued or replaced only when asked).
      checkUnlocked(fn, o.out);
      checkRunFolder(fn, o.out, { resume: o.resume, overwrite: o.overwrite });
      checkContextData(fn, o.context, o.data);
      await startBackend(o);
      const data = loadDataset(o.data, { seed: o.seed, context: o.context });
      const contextDim = data.context?.dim;
      const cnf = { method: o.solver, rtol: o.tol, atol: o.tol, trace: o.trace, gradient: o.gradient, kineticWeight: o.kineticWeight, jacobianWeight: o.jacobianWeight };
      const config: FlowConfig = {
        type: o.model, dim: data.dim, hidden: o.hidden, layers: o.layers, seed: o.seed, ...(o.autoregressive ? { autoregressive: true } : {}),
        ...(o.model === 'ffjord' || o.model === 'biflow' ? { cnf } : {}), ...(o.model === 'biflow' ? { blocks: o.blocks, cnfHidden: o.cnfHidden } : {}),
        ...(contextDim ? { contextDim, standardize: o.standardize } : {}),
      };
      const flow = o.resume ? await loadFlow(o.out) : createFlow(config);
      if (o.resume) {
        try {
          refuseResumeConflicts(cmd, o.out, flow.config as unknown as FlowConfig);
          checkDataContext(fn, flow, contextDim, o.data);
          if (flow.dim !== data.dim) throw new BiflowError(`${fn}: the run in ${o.out} has dim ${flow.dim} but ${o.data} has ${data.dim} columns. Resume on the data the run was trained on.`);
        } catch (e) {
          flow.dispose();
          throw e;
        }
      }
      const result = await train(flow, data, {
        iters: o.iters, batch: o.batch, lr: o.lr, weightDecay: o.weightDecay, logEvery: o.logEvery, checkpointEvery: o.checkpointEvery, checkpointDir: o.out, overwrite: o.overwrite,
        // Progress goes to standard error, as a bar only when standard error is a terminal.
        saveModel: (dir) => saveFlow(flow, dir), resumeFrom: o.resume ? o.out : undefined, progress: o.json ? 'none' : 'auto',
        objective: o.objective, sigma: o.sigma, seed: o.seed, ...(o.evalEvery > 0 ? { validation: data.test, validationContext: data.context?.test, evalEvery: o.evalEvery } : {}),
      });
      // The exact held-out NLL every --eval-every iterations (the trainer's validation), as testNll.
      const evals = result.evaluations.map((e) => ({ iter: e.iter, testNll: e.validationNll }));
      const generatorIters = o.generatorIters ?? (flow.config?.type === 'biflow' ? o.iters : 0);
      let generator: { iters: number; seconds: number; align: number | null; reconstruction: number | null } | null = null;
      if (generatorIters > 0) {
        const g = await trainGenerator(flow, data, { iters: generatorIters, batch: o.batch, lr: o.lr, interior: o.interior, seed: o.seed, logEvery: o.logEvery, progress: o.json ? 'none' : 'auto' });
        const last = g.result.history.at(-1);
        generator = { iters: g.result.iters, seconds: g.result.seconds, align: last?.align ?? null, reconstruction: last?.reconstruction ?? null };
        await withFolderLock(fn, o.out, () => saveFlow(flow, path.join(o.out, 'model')));
      }
      // Exact by default: the test NLL takes the exact trace whatever estimator trained the model.
      const { testNll, units } = testNllOf(await flow.nllAsync(data.test, data.context ? { context: data.context.test } : {}), data.nllOffset);
      const params = flow.trainableVariables.reduce((n, v) => n + v.size, 0);
      const blocks = flow.bijector instanceof Stack ? flow.bijector.blockStats() : null;
      finish(o, [
        `trained ${flow.config?.type} on ${data.name}${o.objective === 'ml' ? '' : ` by ${o.objective}`}: ${result.iters} iterations, ${result.seconds.toFixed(1)} s`,
        ...(generator ? [`one-pass generator: ${generator.iters} iterations, ${generator.seconds.toFixed(1)} s, reconstruction ${generator.reconstruction?.toFixed(4)}`] : []),
        `test NLL ${testNll.toFixed(4)} nats${units.text}, ${params} parameters, saved to ${o.out}`,
      ], {
        command: 'train', model: flow.config?.type, objective: o.objective, evals, data: data.name, iters: result.iters, seconds: result.seconds, testNll, ...units.json, params, out: o.out,
        loss: result.history.at(-1)?.loss ?? null, generator, blocks, ...(data.context ? { context: data.context.names ?? null, contextDim } : {}),
      }, out);
      flow.dispose();
    });

  common(prog.command('eval').description('test NLL of a saved model'))
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--data <name|file>', 'dataset (its held-out split)')
    .addOption(contextColumnsOption())
    .action(async (o: Common & { model: string; data: string; context?: string[] }) => {
      checkContextData('biflow eval', o.context, o.data);
      await startBackend(o);
      const flow = await loadFlow(o.model);
      const data = loadDataset(o.data, { seed: o.seed, context: o.context });
      checkDataContext('biflow eval', flow, data.context?.dim, o.data);
      if (data.dim !== flow.dim) throw new BiflowError(`biflow eval: the model has dim ${flow.dim} but ${o.data} has ${data.dim} columns. Evaluate on data of the model's dimension.`);
      // Exact by default: the exact trace, whatever estimator trained the model.
      const { testNll, units } = testNllOf(await flow.nllAsync(data.test, data.context ? { context: data.context.test } : {}), data.nllOffset);
      const stats = flow.stats();
      const nfe = stats.nfeForward !== undefined ? `, forward NFE ${stats.nfeForward}` : '';
      finish(o, [`test NLL ${testNll.toFixed(4)} nats${units.text} on ${data.test.length / data.dim} held-out points of ${data.name}${nfe}`], { command: 'eval', testNll, ...units.json, n: data.test.length / data.dim, model: o.model, nfe: stats.nfeForward ?? null }, out);
      flow.dispose();
    });

  common(prog.command('sample').description('draw samples from a saved model into a CSV file (or a scatter plot: .png/.svg)'))
    .requiredOption('--model <dir>', 'model folder')
    .addOption(new Option('--n <n>', 'number of samples (≥ 1)').default(1000).argParser(int('n', { min: 1 })))
    .addOption(new Option('--out <file>', 'CSV file to write, or .png/.svg for a scatter plot of a 2-D model').makeOptionMandatory().argParser(outFile('out', ['.csv', '.png', '.svg'])))
    .addOption(new Option('--extent <xmin,xmax,ymin,ymax>', 'plotted region (figures)').default([-4, 4, -4, 4]).argParser(extent('extent')))
    .addOption(new Option('--via <sampler>', 'exact inverse, or the learned one-pass generator (biflow)').choices(['inverse', 'generator']).default('inverse'))
    .addOption(contextValuesOption())
    .addOption(contextFileOption())
    .action(async (o: Common & { model: string; n: number; out: string; extent: number[]; via: 'inverse' | 'generator'; context?: number[]; contextFile?: string }) => {
      await startBackend(o);
      const flow = await loadFlow(o.model);
      let c: ReturnType<typeof contextFromFlags>;
      try {
        c = contextFromFlags('biflow sample', flow, o, o.n);
      } catch (e) {
        flow.dispose();
        throw e;
      }
      o.n = c.n;
      // The async forms: they run on every backend, WebGPU included.
      const s = await flow.sampleAsync(o.n, { seed: o.seed, via: o.via, context: c.context });
      const flat = (await s.data()) as Float32Array;
      s.dispose();
      const rows = Array.from({ length: o.n }, (_, i) => Array.from(flat.subarray(i * flow.dim, (i + 1) * flow.dim)));
      if (/\.(png|svg)$/i.test(o.out)) {
        if (flow.dim !== 2) throw new BiflowError(`biflow sample: a scatter plot needs a 2-D model, this one has dim ${flow.dim}. Write a .csv instead.`);
        await writeFigure(o.out, samplesFigure(flat, o.extent as Extent, { title: `${flow.config?.type ?? 'flow'} samples` }));
      } else {
        await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
        await writeFile(o.out, `${rows.map((r) => r.join(',')).join('\n')}\n`);
      }
      finish(o, [`wrote ${o.n} samples to ${o.out} (${o.via})`], { command: 'sample', n: o.n, out: o.out, via: o.via }, out);
      flow.dispose();
    });

  common(prog.command('plot').description('density heat map (2-D models) and samples as PNG or SVG'))
    .requiredOption('--model <dir>', 'model folder')
    .addOption(new Option('--out <file>', 'output .png or .svg').makeOptionMandatory().argParser(outFile('out', ['.png', '.svg'])))
    .addOption(new Option('--grid <n>', `grid cells per side (${GRID.min} to ${GRID.max})`).default(100).argParser(int('grid', GRID)))
    .addOption(new Option('--extent <xmin,xmax,ymin,ymax>', 'plotted region').default([-4, 4, -4, 4]).argParser(extent('extent')))
    .option('--trajectory <data>', 'instead: paths of 300 points of this dataset flowing from data to latent (CNF models)')
    .addOption(contextValuesOption())
    .action(async (o: Common & { model: string; out: string; grid: number; extent: number[]; trajectory?: string; context?: number[] }) => {
      await startBackend(o);
      const flow = await loadFlow(o.model);
      let context: number[] | undefined;
      try {
        context = contextFromFlags('biflow plot', flow, o, 1).context as number[] | undefined;
      } catch (e) {
        flow.dispose();
        throw e;
      }
      if (flow.dim !== 2) throw new BiflowError(`biflow plot: figures need a 2-D model, this one has dim ${flow.dim}.`);
      const ext = o.extent as Extent;
      if (o.trajectory) {
        const cnf = leafBlocks(flow.bijector).find((b): b is CNF => b instanceof CNF);
        if (!cnf) throw new BiflowError(`biflow plot: --trajectory needs a model with a CNF block (ffjord), this one is '${flow.config?.type}'.`);
        const data = loadDataset(o.trajectory, { seed: o.seed });
        const x = tf.tensor2d(data.test.subarray(0, 600), [300, 2]);
        const svg = trajectoryFigure(await runDeferred(() => cnf.trajectory(x)), ext, { title: `${o.trajectory}: data → latent` });
        x.dispose();
        await writeFigure(o.out, svg);
        finish(o, [`wrote ${o.out}`], { command: 'plot', out: o.out, kind: 'trajectory' }, out);
        flow.dispose();
        return;
      }
      const n = o.grid;
      const density = await flow.densityGridAsync(ext, n, { context });
      const samples = await flow.sampleAsync(500, { seed: o.seed, context });
      const svg = densityFigure(density, n, ext, { title: `${flow.config?.type ?? 'flow'} density`, samples: (await samples.data()) as Float32Array });
      samples.dispose();
      await writeFigure(o.out, svg);
      finish(o, [`wrote ${o.out}`], { command: 'plot', out: o.out }, out);
      flow.dispose();
    });

  harnessCommands(prog, out);
  benchCommands(prog, out);

  prog.command('methods').description('the built-in ODE methods: explicit Runge–Kutta and stiff').option('--json', 'print one JSON object').action((o: { json?: boolean }) => {
    const rows = METHOD_NAMES.map(methodInfo);
    if (o.json) out(JSON.stringify({ methods: rows }));
    else {
      for (const r of rows) {
        const order = `${r.order}${r.embeddedOrder ? `(${r.embeddedOrder})` : '   '}`;
        const stages = r.stages === null ? ' –' : String(r.stages).padStart(2);
        const kind = r.kind === 'explicit' ? '' : `  ${r.kind === 'auto' ? 'stiff: tsit5 → rodas5 when stiff, float64 and tensor states' : `stiff: ${r.kind}, float64 and tensor states`}`;
        out(`${r.name.padEnd(9)} order ${order}  stages ${stages}${r.fsal ? ' FSAL' : '     '}  dense order ${r.denseOrder}  ${r.adaptive ? 'adaptive' : 'fixed step'}${kind}`);
      }
    }
  });
  return prog;
}

/** Runs the CLI; returns the exit status (0 ok, 1 a biflow error, 2 usage: commander's or a {@link UsageError}). */
export async function main(argv: string[], out?: (s: string) => void): Promise<number> {
  const prog = program(out);
  prog.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return USAGE_EXIT;
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      return USAGE_EXIT;
    }
    if (e instanceof BiflowError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

const invoked = process.argv[1] ?? '';
if (import.meta.url === `file://${invoked}` || invoked.endsWith('/biflow') || invoked.endsWith('main.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
