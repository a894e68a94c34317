/**
 * `biflow bench flow-step --model realnvp|nsf|glow|nice`: one discrete-flow training iteration of
 * biflow (a moons batch, the mean NLL, its gradient, one Adam 1e-3 step) against zuko's matching
 * flow on PyTorch (bench/reference/flow_step_zuko.py, one thread), side by side with the harness
 * of `bench ffjord-step` (pairs of one zuko and one biflow iteration; the ratio is the median over
 * the pairs). Both sides read the same batches in the same order (the rows are written to a file
 * the script reads), so with `--nll-iters` the test NLLs after the same iterations compare.
 * zuko's NSF bounds its splines at 5 (biflow's default is 4): the nsf model is built with bound 5.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { tf } from '../backend/engine.js';
import { countKernels } from '../backend/kernel-count.js';
import type { KernelCount } from '../backend/kernel-count.js';
import { createFlow } from '../biflow/registry.js';
import { loadDataset } from '../data/dataset.js';
import { Coupling } from '../discrete/coupling.js';
import { ActNorm, DiagonalScaling } from '../discrete/elementwise.js';
import { LULinear } from '../discrete/lu-linear.js';
import { leafBlocks } from '../flows/compose.js';
import { Adam } from '../train/adam.js';
import { median } from '../train/progress.js';
import { alternate, referenceScript, TorchServer } from './bench.js';
import { atLeast, common, finish, int, list, startBackend } from './options.js';
import type { Common } from './options.js';

/** The discrete flows the benchmark knows. */
export const FLOW_STEP_MODELS = ['realnvp', 'nsf', 'glow', 'nice'] as const;
export type FlowStepModel = (typeof FLOW_STEP_MODELS)[number];

/** One model and batch size's row. */
export interface FlowStepRow {
  model: FlowStepModel;
  batch: number;
  /** The fused coupling, ActNorm (and diagonal scaling) and LU kernels and host Adam (false: the taped blocks and kernel Adam, the reference path). */
  fused: boolean;
  /** biflow: median milliseconds per iteration. */
  ms_per_iter: number;
  /** zuko (one thread): the same, or null when skipped. */
  zuko_ms_per_iter: number | null;
  /** biflow ÷ zuko: the median over back-to-back pairs. */
  ratio: number | null;
  pairs: number;
  /** Kernels of one biflow iteration (engine ops, runner kernels inside fused ops). */
  kernels: { engine: number; runner: number; total: number };
  /** Test NLL (nats) of each side after the same iterations on the same batches (with --nll-iters). */
  nll?: { iters: number; biflow: number; zuko: number | null };
  zuko_skipped?: string;
}

/**
 * A prepared biflow iteration on batches 0, 1, … of `rows` (batch k is rows [kB, (k+1)B), drawn
 * before the timing starts, as the zuko side reads them from its file), tested on `test`.
 */
function biflowFlowStep(model: FlowStepModel, batch: number, seed: number, fused: boolean, rows: Float32Array, test: Float32Array) {
  const flow = createFlow({ type: model, dim: 2, seed, ...(model === 'nsf' ? { bound: 5 } : {}) });
  for (const b of leafBlocks(flow.bijector)) if (b instanceof Coupling || b instanceof ActNorm || b instanceof DiagonalScaling || b instanceof LULinear) b.fused = fused;
  const vars = flow.trainableVariables;
  const adam = new Adam(vars, { lr: 1e-3, fused });
  let i = 0;
  const step = () => {
    const k = i++ % Math.floor(rows.length / (2 * batch));
    const x = tf.tensor2d(rows.subarray(k * batch * 2, (k + 1) * batch * 2), [batch, 2]);
    if (i === 1) (flow.bijector as { initialize?: (x: tf.Tensor2D) => void }).initialize?.(x);
    const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
    adam.apply(vars.map((v) => grads[v.name]));
    tf.dispose([x, ...Object.values(grads)]);
    return value;
  };
  return {
    async run(): Promise<number> {
      const t0 = performance.now();
      const value = step();
      await value.data(); // an iteration ends with its loss on the host (WebGPU works asynchronously)
      const ms = performance.now() - t0;
      value.dispose();
      return ms;
    },
    count: (): Promise<KernelCount> => countKernels(() => step()),
    nll: () => flow.nll(test),
    dispose() {
      adam.dispose();
      flow.dispose();
    },
  };
}

/** The comparison for each model and batch size: `warmup` untimed iterations, `pairs` timed pairs, then (optionally) training on to `nllIters` and both test NLLs. */
export async function flowStepComparison(o: { models: FlowStepModel[]; batches: number[]; seed: number; fused: boolean; pairs: number; warmup: number; nllIters: number; torch: boolean; threads: number; log?: (s: string) => void }): Promise<FlowStepRow[]> {
  const rows: FlowStepRow[] = [];
  const data = loadDataset('moons', { seed: o.seed });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'biflow-flow-step-'));
  try {
    for (const model of o.models) {
      for (const batch of o.batches) {
        // The batches both sides read, in order: warm-up, kernel count, pairs, then training on.
        const total = o.warmup + 1 + o.pairs + Math.max(0, o.nllIters - o.warmup - 1 - o.pairs);
        const trainFile = path.join(dir, 'train.f32');
        const testFile = path.join(dir, 'test.f32');
        const rowsOut = new Float32Array(total * batch * 2);
        for (let k = 0; k < total; k++) rowsOut.set(data.batch(k, batch), k * batch * 2);
        writeFileSync(trainFile, rowsOut);
        writeFileSync(testFile, data.test);
        const side = biflowFlowStep(model, batch, o.seed, o.fused, rowsOut, data.test);
        let torch: TorchServer | null = null;
        let skipped: string | undefined = o.torch ? undefined : 'not requested (--no-torch)';
        if (!skipped) {
          const started = await TorchServer.start(referenceScript('flow_step_zuko.py'), ['--model', model, '--batch', String(batch), '--threads', String(o.threads), '--seed', String(o.seed), '--warmup', String(o.warmup + 1), '--train', trainFile, '--test', testFile]);
          if ('skipped' in started) skipped = started.skipped;
          else torch = started.server;
        }
        try {
          for (let k = 0; k < o.warmup; k++) await side.run();
          const kernels = await side.count();
          const { ours, theirs, ratio } = await alternate(o.pairs, torch, () => undefined, () => side.run());
          const row: FlowStepRow = {
            model, batch, fused: o.fused, ms_per_iter: median(ours), zuko_ms_per_iter: theirs.length ? median(theirs) : null, ratio, pairs: ours.length,
            kernels: { engine: kernels.engine, runner: kernels.runner, total: kernels.total },
            ...(skipped ? { zuko_skipped: skipped } : {}),
          };
          const done = o.warmup + 1 + o.pairs;
          if (o.nllIters > done) {
            for (let k = done; k < o.nllIters; k += 50) {
              const n = Math.min(50, o.nllIters - k);
              if (torch) await torch.run(n);
              for (let j = 0; j < n; j++) await side.run();
            }
            row.nll = { iters: o.nllIters, biflow: side.nll(), zuko: torch ? (await torch.query<{ nll: number }>('nll')).nll : null };
          }
          rows.push(row);
          o.log?.(flowStepLine(row));
        } finally {
          torch?.close();
          side.dispose();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** A row as one human-readable line. */
export function flowStepLine(r: FlowStepRow): string {
  const zuko = r.zuko_ms_per_iter === null ? `zuko skipped (${r.zuko_skipped})` : `zuko ${r.zuko_ms_per_iter.toFixed(2)} ms, ratio ${r.ratio!.toFixed(2)}`;
  const nll = r.nll ? `; test NLL after ${r.nll.iters} iterations: biflow ${r.nll.biflow.toFixed(3)}, zuko ${r.nll.zuko?.toFixed(3) ?? '—'}` : '';
  return `${r.model}${r.fused ? '' : ' (taped)'} iteration, B = ${r.batch}: biflow ${r.ms_per_iter.toFixed(2)} ms (${r.kernels.engine} engine + ${r.kernels.runner} runner kernels), ${zuko}${nll}`;
}

/** Registers `bench flow-step` on the `bench` command. */
export function flowBenchCommand(bench: Command, out: (s: string) => void): void {
  common(bench.command('flow-step').description('one discrete-flow training iteration (realnvp, nsf, glow, nice) against zuko on one thread'))
    .addOption(new Option('--model <name>', 'realnvp, nsf, glow, nice or all').choices([...FLOW_STEP_MODELS, 'all']).default('realnvp'))
    .addOption(new Option('--batch <list>', 'batch sizes').default([256]).argParser(list('batch')))
    .addOption(new Option('--pairs <n>', 'timed pairs (one zuko, one biflow iteration each)').default(30).argParser(int('pairs')))
    .addOption(new Option('--warmup <n>', 'untimed iterations first').default(5).argParser(int('warmup')))
    .addOption(new Option('--nll-iters <n>', 'train both sides to this many iterations on the same batches and report test NLL (0: skip)').default(0).argParser(int('nll-iters')))
    .addOption(new Option('--threads <n>', "PyTorch's threads").default(1).argParser(int('threads')))
    .option('--taped', 'tape the couplings, ActNorm and LU blocks and run Adam as kernels (the reference path) instead of the fused kernels')
    .option('--no-torch', 'skip the zuko side')
    .action(async (o: Common & { model: FlowStepModel | 'all'; batch: number[]; pairs: number; warmup: number; nllIters: number; threads: number; taped?: boolean; torch: boolean }) => {
      atLeast('biflow bench flow-step', 1, [['batch', Math.min(...o.batch)], ['pairs', o.pairs], ['threads', o.threads]]);
      atLeast('biflow bench flow-step', 0, [['warmup', o.warmup], ['nll-iters', o.nllIters]]);
      await startBackend(o);
      const rows = await flowStepComparison({
        models: o.model === 'all' ? [...FLOW_STEP_MODELS] : [o.model], batches: o.batch, seed: o.seed, fused: !o.taped, pairs: o.pairs, warmup: o.warmup, nllIters: o.nllIters,
        torch: o.torch, threads: o.threads, log: o.json ? undefined : out,
      });
      const machine = { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length };
      finish(o, [], { command: 'bench flow-step', backend: tf.getBackend(), fused: !o.taped, ms_per_iter: rows[0]!.ms_per_iter, ratio: rows[0]!.ratio, rows, machine }, out);
    });
}
