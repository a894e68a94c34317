/**
 * Tensor benchmark: peak memory and time of the three gradient modes as the number of steps
 * grows 10×, and the time of one evaluation of a 64-wide MLP field on each backend, next to the
 * PyTorch reference (`bench/reference/ffjord_step_torch.py`, Debian's python3-torch) when
 * it can run.
 */
import { referenceScript, torchStep } from '../src/cli/bench.js';
import type { TorchResult } from '../src/cli/bench.js';
import { odeint, tf, useBackend, backendInfo, ACTIVATIONS } from '../src/index.js';
import type { BackendName, GradientMode } from '../src/index.js';
import { medianMs } from './timing.js';
import type { TimingOptions } from './timing.js';

/** An MLP field dim → 64 → 64 → dim (tanh with correct higher-order gradients), time-modulated. */
export function mlpField(dim: number, hidden: number, seed = 0) {
  const init = (shape: [number, number]) => tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1 / Math.sqrt(shape[1]), 'float32', seed + shape[0] * 7 + shape[1])));
  const Ws = [init([hidden, dim]), init([hidden, hidden]), init([dim, hidden])];
  const bs = [tf.tidy(() => tf.variable(tf.zeros([hidden]))), tf.tidy(() => tf.variable(tf.zeros([hidden]))), tf.tidy(() => tf.variable(tf.zeros([dim])))];
  const f = (t: number, y: tf.Tensor): tf.Tensor => {
    let h = y;
    for (let l = 0; l < 3; l++) {
      h = tf.add(tf.matMul(h, Ws[l]!, false, true), bs[l]!);
      if (l < 2) h = ACTIVATIONS.tanh(tf.mul(h, 1 + 0.1 * t));
    }
    return h;
  };
  return { f, params: [...Ws, ...bs], dispose: () => tf.dispose([...Ws, ...bs]) };
}

export interface MemoryRow {
  mode: GradientMode;
  steps: number;
  peakBytes: number;
  ms: number;
}

/** Peak tensor bytes (tf.profile) and median time of one gradient computation, rk4 with `steps` steps. */
async function gradientCost(mode: GradientMode, steps: number, batch: number, timing: TimingOptions): Promise<MemoryRow> {
  const { f, params, dispose } = mlpField(2, 64);
  const y0 = tf.randomNormal([batch, 2], 0, 1, 'float32', 1);
  const once = () => {
    const { value, grads } = tf.variableGrads(() => {
      const sol = odeint(f, y0, [0, 1], { method: 'rk4', stepSize: 1 / steps, gradient: mode, params });
      return tf.sum(tf.square(sol.ys[1] as tf.Tensor)) as tf.Scalar;
    }, params as tf.Variable[]);
    tf.dispose([value, ...Object.values(grads)]);
  };
  once();
  const profile = await tf.profile(once);
  const ms = await medianMs(once, timing);
  tf.dispose(y0);
  dispose();
  return { mode, steps, peakBytes: profile.peakBytes, ms };
}

export interface FieldRow {
  backend: string;
  adapter: string | null;
  batch: number;
  msPerEval: number;
}

async function fieldCost(backend: BackendName, batch: number, timing: TimingOptions): Promise<FieldRow | { backend: string; skipped: string }> {
  try {
    await useBackend(backend);
  } catch (e) {
    return { backend, skipped: (e as Error).message };
  }
  const { f, dispose } = mlpField(2, 64);
  const y = tf.randomNormal([batch, 2], 0, 1, 'float32', 2);
  // Async read so that WebGPU's queued work is included (and so it works there at all).
  const evalOnce = async () => {
    const out = tf.tidy(() => f(0.3, y));
    await out.data();
    out.dispose();
  };
  await evalOnce();
  const ms = await medianMs(evalOnce, timing);
  tf.dispose(y);
  dispose();
  const info = backendInfo();
  return { backend, adapter: info.adapter ? info.adapter.description || info.adapter.device : null, batch, msPerEval: ms };
}

/** The PyTorch reference iteration (32 NFE with backward), or why it could not run. */
/** The fixed-step PyTorch reference (bench/reference/ffjord_step_torch.py) at one batch size. */
export function torchReference(batch: number): TorchResult {
  return torchStep(referenceScript('ffjord_step_torch.py'), ['--batch', String(batch), '--steps', '8', '--iters', '10', '--threads', '1']);
}

export async function tensorBenchmark({ timing, log, quick }: { timing: TimingOptions; log: (s: string) => void; quick: boolean }) {
  await useBackend('wasm');
  const memory: MemoryRow[] = [];
  for (const mode of ['direct', 'checkpoint', 'backsolve'] as const) {
    for (const steps of quick ? [5, 50] : [10, 100]) memory.push(await gradientCost(mode, steps, 100, timing));
  }
  log('\n## gradient modes: rk4, MLP 2-64-64-2, B = 100, steps ×10 (wasm)\n');
  log('mode        steps   peak KiB     ms');
  for (const r of memory) log(`${r.mode.padEnd(10)} ${String(r.steps).padStart(6)} ${(r.peakBytes / 1024).toFixed(0).padStart(10)} ${r.ms.toFixed(1).padStart(8)}`);
  const growth = Object.fromEntries(
    (['direct', 'checkpoint', 'backsolve'] as const).map((m) => {
      const [a, b] = memory.filter((r) => r.mode === m);
      return [m, b!.peakBytes / a!.peakBytes];
    }),
  );
  log(`peak-memory growth for 10× steps: ${Object.entries(growth).map(([m, g]) => `${m} ${g.toFixed(2)}×`).join(', ')} (target: backsolve within 1.10×)`);

  const fields: (FieldRow | { backend: string; skipped: string })[] = [];
  for (const backend of ['wasm', 'cpu', 'webgpu'] as const) {
    for (const batch of [100, 1000]) fields.push(await fieldCost(backend, batch, timing));
  }
  await useBackend('wasm');
  const torch = quick ? [] : [100, 1000].map((batch) => ({ batch, ...torchReference(batch) }));
  log('\n## one evaluation of the 64-wide MLP field (forward, with a host read)\n');
  for (const r of fields) {
    if ('skipped' in r) log(`${r.backend.padEnd(7)} skipped: ${r.skipped}`);
    else log(`${r.backend.padEnd(7)} B = ${String(r.batch).padEnd(5)} ${r.msPerEval.toFixed(3)} ms${r.adapter ? `  (adapter: ${r.adapter})` : ''}`);
  }
  for (const t of torch) {
    if ('skipped' in t) log(`pytorch B = ${t.batch}: skipped (${t.skipped})`);
    else log(`pytorch B = ${String(t.batch).padEnd(5)} ${t.ms_per_iter} ms per FFJORD iteration = ${t.ms_per_nfe} ms per NFE (torch ${t.torch}, 1 thread; includes the backward pass and the Hutchinson VJP)`);
  }
  return { memory, growth, fields, torch };
}
