/**
 * FFJORD on 8gaussians as FFJORD trains it: concatsquash 2-64-64-64-2 (tanh), T = 0.5, dopri5 at
 * rtol = atol = 1e-5, continuous adjoint, Hutchinson trace while training, batch 100, Adam 1e-3
 * with weight decay 1e-5. Test NLL with the exact trace on 5000 held-out points.
 * Reference (the FFJORD issue): PyTorch + torchdiffeq reach about 3.12 nats in 1000 iterations.
 */
import { createFlow, useBackend } from '../src/index.js';
import { writeFolderAtomically } from '../src/biflow/io.js';
import { loadDataset } from '../src/data/index.js';
import { train } from '../src/train/index.js';
import { ffjordStepComparison } from '../src/cli/bench.js';

export async function ffjordBenchmark({ iters, log }: { iters: number; log: (s: string) => void }) {
  await useBackend('wasm');
  const ds = loadDataset('8gaussians', { seed: 0 });
  const flow = createFlow({ type: 'ffjord', dim: 2, cnf: { trace: 'hutchinson', rtol: 1e-5, atol: 1e-5, gradient: 'backsolve' } });
  const r = await train(flow, ds, { iters, batch: 100, lr: 1e-3, weightDecay: 1e-5, logEvery: Math.max(1, Math.floor(iters / 10)), progress: 'lines', write: (s) => log(s.trimEnd()) }, writeFolderAtomically);
  const testNll = flow.nll(ds.test);
  const result = { iters: r.iters, seconds: r.seconds, secondsPerIter: r.seconds / r.iters, testNll, reference: 3.12, nfeForwardLast: r.history.at(-1)?.nfeForward, nfeBackwardLast: r.history.at(-1)?.nfeBackward };
  log(`FFJORD 8gaussians: test NLL ${testNll.toFixed(3)} nats (exact trace, 5000 points) after ${r.iters} iterations, ${r.seconds.toFixed(0)} s (${result.secondsPerIter.toFixed(3)} s/iter); reference ≈ 3.12`);
  flow.dispose();
  return result;
}

/**
 * One FFJORD training iteration at equal work with PyTorch on one thread (the reference scripts in
 * bench/reference): rk4 × 8 with direct backprop, and dopri5 with the backsolve adjoint — the same
 * comparison as `biflow bench ffjord-step`, rounds alternating the two sides.
 */
export async function ffjordStepBenchmark({ batches, log, rounds = 3, iters = 5 }: { batches: number[]; log: (s: string) => void; rounds?: number; iters?: number }) {
  await useBackend('wasm');
  const common = { batches, steps: 8, rtol: 1e-5, atol: 1e-5, hidden: 64, dim: 2, fused: true, seed: 0, rounds, iters, warmup: 3, torch: true, threads: 1, log };
  const rk4 = await ffjordStepComparison({ ...common, solver: 'rk4' });
  const dopri5 = await ffjordStepComparison({ ...common, solver: 'dopri5' });
  return [...rk4, ...dopri5];
}
