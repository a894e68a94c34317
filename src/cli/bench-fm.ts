/**
 * `biflow bench fm-step`: one flow-matching training iteration of biflow (I-CFM or OT-CFM)
 * against the same work in PyTorch (bench/reference/fm_step_torch.py, one thread, scipy's
 * linear_sum_assignment for OT-CFM), side by side: the two alternate iteration by iteration and
 * the ratio is the median over those back-to-back pairs. The model is ffjord_field.py's:
 * concatsquash 2-64-64-64-2 with tanh, T = 0.5, a batch of 8gaussians rows, Adam 1e-3. The exact
 * assignment's own time (biflow's ot.ts and scipy's) is reported apart.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { Option } from 'commander';
import { tf } from '../backend/engine.js';
import { createFlow } from '../biflow/registry.js';
import { loadDataset } from '../data/dataset.js';
import { flowMatchingObjective } from '../ffjord/flow-matching.js';
import { AssignmentSolver, squaredDistanceAssignment } from '../ffjord/ot.js';
import { median } from '../train/progress.js';
import { referenceScript, TorchServer } from './bench.js';
import { atLeast, common, finish, int, list, startBackend } from './options.js';
import type { Common } from './options.js';

type FmObjective = 'cfm' | 'ot-cfm';

/** One objective and batch size's row. */
export interface FmBenchRow {
  objective: FmObjective;
  batch: number;
  /** biflow: median milliseconds per iteration, and of the exact assignment alone (OT-CFM). */
  ms_per_iter: number;
  ms_assign: number | null;
  /** PyTorch (one thread): the same, or null when skipped. */
  torch_ms_per_iter: number | null;
  torch_ms_assign: number | null;
  /** biflow ÷ PyTorch: the median over back-to-back pairs. */
  ratio: number | null;
  pairs: number;
  fused: boolean;
  torch_skipped?: string;
}

/** A prepared biflow FM iteration: `run()` times one more. */
function biflowFmStep(o: { objective: FmObjective; batch: number; hidden: number; seed: number; fused: boolean }) {
  const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [o.hidden, o.hidden, o.hidden], seed: o.seed, cnf: { trainT: false, T: 0.5 } });
  const fm = flowMatchingObjective(flow, { objective: o.objective, seed: o.seed, fused: o.fused });
  const data = loadDataset('8gaussians', { seed: o.seed, testSize: 1 });
  const opt = tf.train.adam(1e-3);
  let i = 0;
  return {
    async run(): Promise<number> {
      const x = tf.tensor2d(data.batch(i++, o.batch), [o.batch, 2]);
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => fm.loss(x), fm.trainableVariables);
      opt.applyGradients(grads as tf.NamedTensorMap as never);
      await value.data();
      const ms = performance.now() - t0;
      tf.dispose([x, value, ...Object.values(grads)]);
      return ms;
    },
    /** The exact assignment alone on a batch of the same data against N(0, I). */
    assign(): number {
      const a = data.batch(i++, o.batch);
      const b = tf.tidy(() => tf.randomNormal([o.batch, 2], 0, 1, 'float32', o.seed * 7919 + i).dataSync() as Float32Array);
      const solver = new AssignmentSolver(o.batch);
      const cost = new Float64Array(o.batch * o.batch);
      const t0 = performance.now();
      squaredDistanceAssignment(a, b, 2, solver, cost);
      return performance.now() - t0;
    },
    dispose() {
      opt.dispose();
      flow.dispose();
    },
  };
}

/** The side-by-side comparison for each objective and batch size: `pairs` timed pairs after `warmup` untimed iterations. */
export async function fmStepComparison(o: { objectives: FmObjective[]; batches: number[]; hidden: number; seed: number; fused: boolean; pairs: number; warmup: number; torch: boolean; threads: number; log?: (s: string) => void }): Promise<FmBenchRow[]> {
  const rows: FmBenchRow[] = [];
  for (const objective of o.objectives) {
    for (const batch of o.batches) {
      const side = biflowFmStep({ objective, batch, hidden: o.hidden, seed: o.seed, fused: o.fused });
      let torch: TorchServer | null = null;
      let skipped: string | undefined = o.torch ? undefined : 'not requested (--no-torch)';
      if (!skipped) {
        const started = await TorchServer.start(referenceScript('fm_step_torch.py'), ['--objective', objective, '--batch', String(batch), '--hidden', String(o.hidden), '--threads', String(o.threads)]);
        if ('skipped' in started) skipped = started.skipped;
        else torch = started.server;
      }
      try {
        for (let k = 0; k < o.warmup; k++) await side.run();
        const ours: number[] = [];
        const theirs: number[] = [];
        const theirAssign: number[] = [];
        const assign: number[] = [];
        for (let k = 0; k < o.pairs; k++) {
          if (torch) {
            const t = (await torch.run(1)) as { times_ms: number[]; assign_ms?: number[] };
            theirs.push(t.times_ms[0]!);
            if (t.assign_ms?.length) theirAssign.push(t.assign_ms[0]!);
          }
          ours.push(await side.run());
          if (objective === 'ot-cfm') assign.push(side.assign());
        }
        const row: FmBenchRow = {
          objective, batch, ms_per_iter: median(ours), ms_assign: assign.length ? median(assign) : null,
          torch_ms_per_iter: theirs.length ? median(theirs) : null, torch_ms_assign: theirAssign.length ? median(theirAssign) : null,
          ratio: theirs.length ? median(theirs.map((t, k) => ours[k]! / t)) : null, pairs: ours.length, fused: o.fused,
          ...(skipped ? { torch_skipped: skipped } : {}),
        };
        rows.push(row);
        o.log?.(fmLine(row));
      } finally {
        torch?.close();
        side.dispose();
      }
    }
  }
  return rows;
}

/** A row as one human-readable line. */
export function fmLine(r: FmBenchRow): string {
  const assign = r.ms_assign === null ? '' : ` (assignment ${r.ms_assign.toFixed(2)} ms)`;
  const torch = r.torch_ms_per_iter === null
    ? `PyTorch skipped (${r.torch_skipped})`
    : `PyTorch ${r.torch_ms_per_iter.toFixed(2)} ms${r.torch_ms_assign === null ? '' : ` (scipy assignment ${r.torch_ms_assign.toFixed(2)} ms)`}, ratio ${r.ratio!.toFixed(2)}`;
  return `${r.objective} iteration, B = ${r.batch}: biflow ${r.ms_per_iter.toFixed(2)} ms${assign}, ${torch}`;
}

/** Registers `bench fm-step` on the `bench` command. */
export function fmBenchCommand(bench: Command, out: (s: string) => void): void {
  common(bench.command('fm-step').description('one flow-matching training iteration (I-CFM, OT-CFM) against PyTorch on one thread'))
    .addOption(new Option('--objective <name>', 'cfm, ot-cfm or both').choices(['cfm', 'ot-cfm', 'both']).default('both'))
    .addOption(new Option('--batch <list>', 'batch sizes').default([256]).argParser(list('batch')))
    .addOption(new Option('--hidden <n>', 'width of the three hidden layers').default(64).argParser(int('hidden')))
    .addOption(new Option('--pairs <n>', 'timed pairs (one PyTorch, one biflow iteration each)').default(30).argParser(int('pairs')))
    .addOption(new Option('--warmup <n>', 'untimed biflow iterations first').default(5).argParser(int('warmup')))
    .addOption(new Option('--threads <n>', "PyTorch's threads").default(1).argParser(int('threads')))
    .option('--taped', 'tape the FM loss (the reference path) instead of the closed-form op')
    .option('--no-torch', 'skip the PyTorch side')
    .action(async (o: Common & { objective: FmObjective | 'both'; batch: number[]; hidden: number; pairs: number; warmup: number; threads: number; taped?: boolean; torch: boolean }) => {
      atLeast('biflow bench fm-step', 1, [['batch', Math.min(...o.batch)], ['hidden', o.hidden], ['pairs', o.pairs], ['threads', o.threads]]);
      atLeast('biflow bench fm-step', 0, [['warmup', o.warmup]]);
      await startBackend(o);
      const rows = await fmStepComparison({
        objectives: o.objective === 'both' ? ['cfm', 'ot-cfm'] : [o.objective], batches: o.batch, hidden: o.hidden, seed: o.seed, fused: !o.taped,
        pairs: o.pairs, warmup: o.warmup, torch: o.torch, threads: o.threads, log: o.json ? undefined : out,
      });
      const machine = { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length };
      finish(o, [], { command: 'bench fm-step', backend: tf.getBackend(), fused: !o.taped, ms_per_iter: rows[0]!.ms_per_iter, ratio: rows[0]!.ratio, rows, machine }, out);
    });
}
