/**
 * `biflow bench ffjord-step`: one FFJORD training iteration of biflow against the same work in
 * PyTorch, measured side by side in one run. The model is the reference scripts' own: concatsquash
 * 2-64-64-64-2 with tanh, T = 0.5, one Gaussian Hutchinson probe per solve, Adam 1e-3.
 * - `rk4`: 8 fixed steps (32 NFE), direct backprop through the steps —
 *   bench/reference/ffjord_step_torch.py;
 * - `dopri5`: adaptive at rtol = atol = 1e-5, backsolve (continuous) adjoint —
 *   bench/reference/ffjord_adaptive_torch.py, a PyTorch dopri5 + adjoint with biflow's step-size
 *   rules, so equal weights give equal NFE. The models start from different weights, so the
 *   adaptive comparison is reported per NFE as well.
 * Rounds alternate the two sides so that a slow spell of a shared machine hits both; the figure
 * of each side is the median over all its timed iterations.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { tf } from '../backend/engine.js';
import { useBackend } from '../backend/backends.js';
import { createFlow } from '../biflow/registry.js';
import { BiflowError } from '../errors.js';
import { leafBlocks } from '../flows/compose.js';
import { CNF } from '../ffjord/cnf.js';
import { common, finish, int, list, num } from './options.js';
import type { Common } from './options.js';

/** What one side of the comparison runs. */
export interface StepBenchOptions {
  batch: number;
  solver: 'rk4' | 'dopri5';
  /** rk4: steps over [0, T] (4 NFE each). */
  steps: number;
  /** dopri5: tolerances. */
  rtol: number;
  atol: number;
  hidden: number;
  dim: number;
  /** The closed-form augmented dynamics (default) or the taped reference. */
  fused: boolean;
  seed: number;
}

/** One side's timings: milliseconds per iteration and the NFE of the last one. */
export interface StepTimes {
  times: number[];
  nfeForward: number;
  nfeBackward: number;
}

/** A prepared biflow FFJORD iteration: `run(k)` times k more iterations. */
export function biflowStep(o: StepBenchOptions): { run: (iters: number) => Promise<StepTimes>; dispose: () => void } {
  const flow = createFlow({
    type: 'ffjord', dim: o.dim, hidden: [o.hidden, o.hidden, o.hidden], seed: o.seed,
    cnf: {
      trace: 'hutchinson', trainT: false, T: 0.5, fused: o.fused,
      ...(o.solver === 'rk4' ? { method: 'rk4', stepSize: 0.5 / o.steps, gradient: 'direct' } : { method: 'dopri5', rtol: o.rtol, atol: o.atol, gradient: 'backsolve' }),
    },
  });
  const cnf = leafBlocks(flow.bijector).find((b): b is CNF => b instanceof CNF)!;
  const opt = tf.train.adam(1e-3);
  let draw = 0;
  return {
    async run(iters) {
      const times: number[] = [];
      for (let i = 0; i < iters; i++) {
        const x = tf.randomNormal([o.batch, o.dim], 0, 1, 'float32', o.seed * 7919 + ++draw) as tf.Tensor2D;
        const t0 = performance.now();
        opt.minimize(() => flow.loss(x), false, flow.trainableVariables);
        // Wait for the device where it works asynchronously (WebGPU): an iteration ends with its update.
        const probe = tf.tidy(() => tf.sum(flow.trainableVariables[0]!));
        await probe.data();
        probe.dispose();
        times.push(performance.now() - t0);
        x.dispose();
      }
      const s = cnf.solverStats();
      return { times, nfeForward: s.nfeForward!, nfeBackward: s.nfeBackward! };
    },
    dispose() {
      opt.dispose();
      flow.dispose();
    },
  };
}

/** The reference scripts: in the package's bench/reference, or the team's shared/reference. */
export function referenceScript(name: string): string | null {
  for (const rel of [`../../bench/reference/${name}`, `../../../bench/reference/${name}`]) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return file;
  }
  return null;
}

/** The PyTorch side's JSON line (ms_per_iter, nfe, …) or why it was skipped. */
export type TorchResult = { ms_per_iter: number; ms_per_nfe: number; nfe?: number; nfe_forward?: number; nfe_backward?: number; torch: string } | { skipped: string };

/**
 * Runs a PyTorch reference script once and parses its one JSON line. Debian's python3-torch
 * belongs to the system interpreter, which may not be the first python3 on the PATH.
 */
export function torchStep(script: string | null, args: string[]): TorchResult {
  if (!script || !existsSync(script)) return { skipped: `reference script not found${script ? `: ${script}` : ''}` };
  let reason = '';
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(python, [script, ...args], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
      return JSON.parse(out.trim().split('\n').pop()!) as TorchResult;
    } catch (e) {
      reason = `${python}: ${(e as Error).message.split('\n').filter((l) => /Error|error/.test(l)).pop() ?? 'failed'}`;
    }
  }
  return { skipped: `${reason} (apt-get install python3-torch; libopenblas0 for a fast BLAS)` };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One batch size's row of the comparison. */
export interface StepBenchRow {
  batch: number;
  solver: 'rk4' | 'dopri5';
  gradient: 'direct' | 'backsolve';
  /** biflow: median milliseconds per iteration over every timed iteration of every round. */
  ms_per_iter: number;
  ms_per_nfe: number;
  nfe_forward: number;
  nfe_backward: number;
  /** PyTorch (one thread): the median of its rounds' medians, or null when skipped. */
  torch_ms_per_iter: number | null;
  torch_ms_per_nfe: number | null;
  torch_nfe: number | null;
  /** biflow ÷ PyTorch: per iteration, and per function evaluation (the fair one for adaptive runs). */
  ratio: number | null;
  ratio_per_nfe: number | null;
  torch_skipped?: string;
}

/** Runs the side-by-side comparison for each batch size. */
export async function ffjordStepComparison(o: Omit<StepBenchOptions, 'batch'> & { batches: number[]; rounds: number; iters: number; warmup: number; torch: boolean; threads: number; log?: (s: string) => void }): Promise<StepBenchRow[]> {
  const rows: StepBenchRow[] = [];
  const script = referenceScript(o.solver === 'rk4' ? 'ffjord_step_torch.py' : 'ffjord_adaptive_torch.py');
  for (const batch of o.batches) {
    const side = biflowStep({ ...o, batch });
    await side.run(o.warmup);
    const ours: number[] = [];
    const torchMs: number[] = [];
    const torchNfe: number[] = [];
    let last: StepTimes | null = null;
    let skipped: string | undefined = o.torch ? undefined : 'not requested (--no-torch)';
    for (let r = 0; r < o.rounds; r++) {
      if (!skipped) {
        const args = ['--batch', String(batch), '--dim', String(o.dim), '--hidden', String(o.hidden), '--iters', String(o.iters), '--threads', String(o.threads)];
        if (o.solver === 'rk4') args.push('--steps', String(o.steps));
        else args.push('--rtol', String(o.rtol), '--atol', String(o.atol));
        const t = torchStep(script, args);
        if ('skipped' in t) skipped = t.skipped;
        else {
          torchMs.push(t.ms_per_iter);
          torchNfe.push(t.nfe ?? (t.nfe_forward ?? 0) + (t.nfe_backward ?? 0));
        }
      }
      last = await side.run(o.iters);
      ours.push(...last.times);
    }
    side.dispose();
    const ms = median(ours);
    const nfe = last!.nfeForward + last!.nfeBackward;
    const tMs = torchMs.length ? median(torchMs) : null;
    const tNfe = torchNfe.length ? median(torchNfe) : null;
    const row: StepBenchRow = {
      batch, solver: o.solver, gradient: o.solver === 'rk4' ? 'direct' : 'backsolve',
      ms_per_iter: ms, ms_per_nfe: ms / nfe, nfe_forward: last!.nfeForward, nfe_backward: last!.nfeBackward,
      torch_ms_per_iter: tMs, torch_ms_per_nfe: tMs !== null && tNfe ? tMs / tNfe : null, torch_nfe: tNfe,
      ratio: tMs ? ms / tMs : null, ratio_per_nfe: tMs && tNfe ? ms / nfe / (tMs / tNfe) : null,
      ...(skipped ? { torch_skipped: skipped } : {}),
    };
    rows.push(row);
    o.log?.(stepLine(row));
  }
  return rows;
}

/** A row as one human-readable line. */
export function stepLine(r: StepBenchRow): string {
  const work = r.solver === 'rk4' ? `rk4, ${r.nfe_forward} NFE, direct` : `dopri5, ${r.nfe_forward} + ${r.nfe_backward} NFE, backsolve`;
  const torch = r.torch_ms_per_iter === null
    ? `PyTorch skipped (${r.torch_skipped})`
    : `PyTorch ${r.torch_ms_per_iter.toFixed(1)} ms${r.solver === 'dopri5' ? ` (${r.torch_nfe} NFE)` : ''}, ratio ${r.ratio!.toFixed(2)}${r.solver === 'dopri5' ? ` (per NFE ${r.ratio_per_nfe!.toFixed(2)})` : ''}`;
  return `FFJORD iteration (${work}), B = ${r.batch}: biflow ${r.ms_per_iter.toFixed(1)} ms, ${torch}`;
}

export function benchCommands(prog: Command, out: (s: string) => void): void {
  const bench = prog.command('bench').description('benchmarks measured side by side with a reference');
  common(bench.command('ffjord-step').description('one FFJORD training iteration against PyTorch on one thread (the same model and work)'))
    .addOption(new Option('--batch <list>', 'batch sizes').default([100, 1000]).argParser(list('batch')))
    .addOption(new Option('--solver <name>', 'rk4 (fixed steps, direct backprop) or dopri5 (adaptive, backsolve adjoint)').choices(['rk4', 'dopri5']).default('rk4'))
    .addOption(new Option('--steps <n>', 'rk4 steps over [0, 0.5]').default(8).argParser(int('steps')))
    .addOption(new Option('--tol <x>', 'dopri5: rtol = atol').default(1e-5).argParser(num('tol')))
    .addOption(new Option('--hidden <n>', 'width of the three hidden layers').default(64).argParser(int('hidden')))
    .addOption(new Option('--dim <n>', 'data dimension').default(2).argParser(int('dim')))
    .addOption(new Option('--iters <n>', 'timed iterations per round and side').default(5).argParser(int('iters')))
    .addOption(new Option('--rounds <n>', 'rounds, alternating PyTorch and biflow').default(3).argParser(int('rounds')))
    .addOption(new Option('--warmup <n>', 'untimed biflow iterations first').default(3).argParser(int('warmup')))
    .addOption(new Option('--threads <n>', "PyTorch's threads").default(1).argParser(int('threads')))
    .option('--taped', 'tape the augmented dynamics (the reference path) instead of the closed-form op')
    .option('--no-torch', 'skip the PyTorch side')
    .action(async (o: Common & { batch: number[]; solver: 'rk4' | 'dopri5'; steps: number; tol: number; hidden: number; dim: number; iters: number; rounds: number; warmup: number; threads: number; taped?: boolean; torch: boolean }) => {
      for (const [flag, v] of [['batch', Math.min(...o.batch)], ['steps', o.steps], ['hidden', o.hidden], ['dim', o.dim], ['iters', o.iters], ['rounds', o.rounds], ['threads', o.threads]] as const) {
        if (!(v >= 1)) throw new BiflowError(`biflow bench ffjord-step: --${flag} must be ≥ 1, got ${v}.`);
      }
      if (!(o.tol > 0)) throw new BiflowError(`biflow bench ffjord-step: --tol must be positive, got ${o.tol}.`);
      await useBackend(o.backend);
      const rows = await ffjordStepComparison({
        batches: o.batch, solver: o.solver, steps: o.steps, rtol: o.tol, atol: o.tol, hidden: o.hidden, dim: o.dim, fused: !o.taped, seed: o.seed,
        rounds: o.rounds, iters: o.iters, warmup: o.warmup, torch: o.torch, threads: o.threads, log: o.json ? undefined : out,
      });
      const first = rows[0]!;
      finish(o, [], { command: 'bench ffjord-step', fused: !o.taped, ms_per_iter: first.ms_per_iter, ratio: first.ratio, rows }, out);
    });
}
