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
 * The two sides alternate iteration by iteration (PyTorch stays running with `--serve`), so a slow
 * spell of a shared machine hits both; the ratio is the median over those back-to-back pairs.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { tf } from '../backend/engine.js';
import { createFlow } from '../biflow/registry.js';
import { BiflowError } from '../errors.js';
import { leafBlocks } from '../flows/compose.js';
import { CNF } from '../ffjord/cnf.js';
import { median } from '../train/progress.js';
import { atLeast, common, finish, int, list, num, startBackend, UsageError } from './options.js';
import type { Common } from './options.js';
import { fmBenchCommand } from './bench-fm.js';
import { flowBenchCommand } from './bench-flow.js';

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
        // The async form: the same step on wasm; on WebGPU its adaptive reads are awaited.
        const vars = flow.trainableVariables;
        const { value, grads } = await flow.lossAndGradsAsync(x, vars);
        opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
        tf.dispose([value, ...Object.values(grads)]);
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

/**
 * A PyTorch reference script kept running with `--serve`: `run(k)` asks for k timed iterations
 * and resolves with their milliseconds and NFE, so the two sides can alternate iteration by
 * iteration. Debian's python3-torch belongs to the system interpreter, which may not be the first
 * python3 on the PATH.
 */
export class TorchServer {
  private buffer = '';
  private waiting: ((line: string) => void)[] = [];
  private lines: string[] = [];
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    const stop = (why: string) => {
      this.exited ??= why;
      for (const w of this.waiting.splice(0)) w('');
    };
    child.on('exit', (code) => stop(`exited with ${code}: ${stderr.split('\n').filter((l) => /Error|error/.test(l)).pop() ?? stderr.trim().split('\n').pop() ?? ''}`));
    child.on('error', (e) => stop(e.message));
    child.stdin.on('error', () => undefined);
  }

  private next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.resolve('');
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Starts the script and waits for its warm-up; the reason it could not start otherwise. */
  static async start(script: string | null, args: string[]): Promise<{ server: TorchServer; torch: string } | { skipped: string }> {
    if (!script || !existsSync(script)) return { skipped: `reference script not found${script ? `: ${script}` : ''}` };
    let reason = '';
    for (const python of ['python3', '/usr/bin/python3']) {
      const server = new TorchServer(spawn(python, [script, ...args, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] }));
      const ready = await server.next();
      try {
        const meta = JSON.parse(ready) as { ready?: boolean; torch?: string };
        if (meta.ready) return { server, torch: meta.torch ?? 'unknown' };
      } catch {
        // not JSON: the interpreter failed; try the next one
      }
      reason = `${python}: ${server.exited ?? 'no ready line'}`;
      server.close();
    }
    return { skipped: `${reason} (apt-get install python3-torch; libopenblas0 for a fast BLAS)` };
  }

  /** k timed iterations of the reference. */
  run(k: number): Promise<{ times_ms: number[]; nfe_forward: number[]; nfe_backward: number[] }> {
    return this.query(String(k));
  }

  /** Sends one line of the script's own protocol (e.g. `nll`) and parses its one-line JSON answer. */
  async query<R>(line: string): Promise<R> {
    this.child.stdin.write(`${line}\n`);
    const answer = await this.next();
    if (!answer) throw new BiflowError(`biflow bench: the PyTorch reference ${this.exited ?? 'stopped answering'}.`);
    return JSON.parse(answer) as R;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/** What one timed reference iteration answers (milliseconds and NFE, one entry each). */
export type TorchTimes = Awaited<ReturnType<TorchServer['run']>>;

/**
 * The side-by-side timing loop of the `bench` commands: `pairs` times one reference iteration
 * (when a server runs; `seen` gets its answer) then one of ours, back to back, so a slow spell of
 * a shared machine hits both; `ratio` is the median over the pairs of ours ÷ theirs.
 */
export async function alternate(pairs: number, torch: TorchServer | null, seen: (t: TorchTimes) => Promise<void> | void, ours: () => Promise<number>): Promise<{ ours: number[]; theirs: number[]; ratio: number | null }> {
  const mine: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (torch) {
      const t = await torch.run(1);
      theirs.push(t.times_ms[0]!);
      await seen(t);
    }
    mine.push(await ours());
  }
  return { ours: mine, theirs, ratio: theirs.length ? median(theirs.map((t, i) => mine[i]! / t)) : null };
}

/** One batch size's row of the comparison. */
export interface StepBenchRow {
  batch: number;
  solver: 'rk4' | 'dopri5';
  gradient: 'direct' | 'backsolve';
  /** biflow: median milliseconds per iteration. */
  ms_per_iter: number;
  ms_per_nfe: number;
  nfe_forward: number;
  nfe_backward: number;
  /** PyTorch (one thread): median milliseconds per iteration and NFE, or null when skipped. */
  torch_ms_per_iter: number | null;
  torch_ms_per_nfe: number | null;
  torch_nfe: number | null;
  /**
   * biflow ÷ PyTorch: the median over pairs of one biflow and one PyTorch iteration run back to
   * back; per NFE as well (the fair figure for adaptive runs, whose NFE differ).
   */
  ratio: number | null;
  ratio_per_nfe: number | null;
  /** Timed pairs. */
  pairs: number;
  torch_skipped?: string;
}

/**
 * Runs the side-by-side comparison for each batch size: after the warm-ups, `rounds × iters`
 * pairs, each one PyTorch iteration then one biflow iteration.
 */
export async function ffjordStepComparison(o: Omit<StepBenchOptions, 'batch'> & { batches: number[]; rounds: number; iters: number; warmup: number; torch: boolean; threads: number; log?: (s: string) => void }): Promise<StepBenchRow[]> {
  const rows: StepBenchRow[] = [];
  const script = referenceScript(o.solver === 'rk4' ? 'ffjord_step_torch.py' : 'ffjord_adaptive_torch.py');
  for (const batch of o.batches) {
    const side = biflowStep({ ...o, batch });
    let torch: TorchServer | null = null;
    let skipped: string | undefined = o.torch ? undefined : 'not requested (--no-torch)';
    if (!skipped) {
      const args = ['--batch', String(batch), '--dim', String(o.dim), '--hidden', String(o.hidden), '--threads', String(o.threads)];
      if (o.solver === 'rk4') args.push('--steps', String(o.steps));
      else args.push('--rtol', String(o.rtol), '--atol', String(o.atol));
      const started = await TorchServer.start(script, args);
      if ('skipped' in started) skipped = started.skipped;
      else torch = started.server;
    }
    try {
      await side.run(o.warmup);
      const theirNfe: number[] = [];
      const runs: StepTimes[] = [];
      const { ours, theirs, ratio } = await alternate(o.rounds * o.iters, torch, async (t) => {
        theirNfe.push(t.nfe_forward[0]! + t.nfe_backward[0]!);
      }, async () => {
        runs.push(await side.run(1));
        return runs[runs.length - 1]!.times[0]!;
      });
      const last = runs[runs.length - 1]!;
      const ms = median(ours);
      const nfe = last!.nfeForward + last!.nfeBackward;
      const tMs = theirs.length ? median(theirs) : null;
      const tNfe = theirNfe.length ? median(theirNfe) : null;
      const pairPerNfe = theirs.map((t, i) => ours[i]! / nfe / (t / theirNfe[i]!));
      const row: StepBenchRow = {
        batch, solver: o.solver, gradient: o.solver === 'rk4' ? 'direct' : 'backsolve',
        ms_per_iter: ms, ms_per_nfe: ms / nfe, nfe_forward: last!.nfeForward, nfe_backward: last!.nfeBackward,
        torch_ms_per_iter: tMs, torch_ms_per_nfe: tMs !== null && tNfe ? tMs / tNfe : null, torch_nfe: tNfe,
        ratio, ratio_per_nfe: pairPerNfe.length ? median(pairPerNfe) : null,
        pairs: ours.length,
        ...(skipped ? { torch_skipped: skipped } : {}),
      };
      rows.push(row);
      o.log?.(stepLine(row));
    } finally {
      torch?.close();
      side.dispose();
    }
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
  fmBenchCommand(bench, out);
  flowBenchCommand(bench, out);
  common(bench.command('ffjord-step').description('one FFJORD training iteration against PyTorch on one thread (the same model and work)'))
    .addOption(new Option('--batch <list>', 'batch sizes').default([100, 1000]).argParser(list('batch')))
    .addOption(new Option('--solver <name>', 'rk4 (fixed steps, direct backprop) or dopri5 (adaptive, backsolve adjoint)').choices(['rk4', 'dopri5']).default('rk4'))
    .addOption(new Option('--steps <n>', 'rk4 steps over [0, 0.5]').default(8).argParser(int('steps')))
    .addOption(new Option('--tol <x>', 'dopri5: rtol = atol').default(1e-5).argParser(num('tol')))
    .addOption(new Option('--hidden <n>', 'width of the three hidden layers').default(64).argParser(int('hidden')))
    .addOption(new Option('--dim <n>', 'data dimension').default(2).argParser(int('dim')))
    .addOption(new Option('--iters <n>', 'timed pairs per round (one PyTorch, one biflow iteration each)').default(5).argParser(int('iters')))
    .addOption(new Option('--rounds <n>', 'rounds (pairs = rounds × iters)').default(3).argParser(int('rounds')))
    .addOption(new Option('--warmup <n>', 'untimed biflow iterations first').default(3).argParser(int('warmup')))
    .addOption(new Option('--threads <n>', "PyTorch's threads").default(1).argParser(int('threads')))
    .option('--taped', 'tape the augmented dynamics (the reference path) instead of the closed-form op')
    .option('--no-torch', 'skip the PyTorch side')
    .action(async (o: Common & { batch: number[]; solver: 'rk4' | 'dopri5'; steps: number; tol: number; hidden: number; dim: number; iters: number; rounds: number; warmup: number; threads: number; taped?: boolean; torch: boolean }) => {
      atLeast('biflow bench ffjord-step', 1, [['batch', Math.min(...o.batch)], ['steps', o.steps], ['hidden', o.hidden], ['dim', o.dim], ['iters', o.iters], ['rounds', o.rounds], ['threads', o.threads]]);
      if (!(o.tol > 0)) throw new UsageError('biflow bench ffjord-step', '--tol', o.tol, 'must be positive, got {value}.');
      const info = await startBackend(o);
      const rows = await ffjordStepComparison({
        batches: o.batch, solver: o.solver, steps: o.steps, rtol: o.tol, atol: o.tol, hidden: o.hidden, dim: o.dim, fused: !o.taped, seed: o.seed,
        rounds: o.rounds, iters: o.iters, warmup: o.warmup, torch: o.torch, threads: o.threads, log: o.json ? undefined : out,
      });
      const first = rows[0]!;
      // The adapter goes with every figure: a WebGPU number means nothing without it.
      const machine = { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, backend: info.name, adapter: info.adapter };
      finish(o, [], { command: 'bench ffjord-step', fused: !o.taped, ms_per_iter: first.ms_per_iter, ratio: first.ratio, rows, machine }, out);
    });
}
