/**
 * FFJORD on 8gaussians as FFJORD trains it: concatsquash 2-64-64-64-2 (tanh), T = 0.5, dopri5 at
 * rtol = atol = 1e-5, continuous adjoint, Hutchinson trace while training, batch 100, Adam 1e-3
 * with weight decay 1e-5. Test NLL with the exact trace on 5000 held-out points.
 * Reference (the FFJORD issue): PyTorch + torchdiffeq reach about 3.12 nats in 1000 iterations.
 */
import { createFlow, tf, useBackend, setTrace } from '../src/index.js';
import { writeFolderAtomically } from '../src/biflow/io.js';
import { loadDataset } from '../src/data/index.js';
import { train } from '../src/train/index.js';

export async function ffjordBenchmark({ iters, log }: { iters: number; log: (s: string) => void }) {
  await useBackend('wasm');
  const ds = loadDataset('8gaussians', { seed: 0 });
  const flow = createFlow({ type: 'ffjord', dim: 2, cnf: { trace: 'hutchinson', rtol: 1e-5, atol: 1e-5, gradient: 'backsolve' } });
  const r = await train(flow, ds, { iters, batch: 100, lr: 1e-3, weightDecay: 1e-5, logEvery: Math.max(1, Math.floor(iters / 10)), progress: 'lines', write: (s) => log(s.trimEnd()) }, writeFolderAtomically);
  setTrace(flow.bijector, 'exact');
  const testNll = flow.nll(ds.test);
  const result = { iters: r.iters, seconds: r.seconds, secondsPerIter: r.seconds / r.iters, testNll, reference: 3.12, nfeForwardLast: r.history.at(-1)?.nfeForward, nfeBackwardLast: r.history.at(-1)?.nfeBackward };
  log(`FFJORD 8gaussians: test NLL ${testNll.toFixed(3)} nats (exact trace, 5000 points) after ${r.iters} iterations, ${r.seconds.toFixed(0)} s (${result.secondsPerIter.toFixed(3)} s/iter); reference ≈ 3.12`);
  flow.dispose();
  return result;
}

/**
 * One FFJORD training iteration at equal work with `shared/reference/ffjord_step_torch.py`:
 * concatsquash 2-64-64-64-2 (tanh), one Gaussian Hutchinson probe, rk4 with 8 steps over [0, 0.5]
 * (32 NFE), direct backprop, one Adam step. Median ms per iteration, and the PyTorch figure from
 * the same run.
 */
export async function ffjordStepBenchmark({ batches, log, torch }: { batches: number[]; log: (s: string) => void; torch: (batch: number) => { ms_per_iter: number } | { skipped: string } }) {
  await useBackend('wasm');
  const rows: { batch: number; msPerIter: number; torch: number | null; ratio: number | null }[] = [];
  for (const batch of batches) {
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [64, 64, 64], cnf: { method: 'rk4', stepSize: 0.5 / 8, gradient: 'direct', trace: 'hutchinson', trainT: false } });
    const opt = tf.train.adam(1e-3);
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const x = tf.randomNormal([batch, 2], 0, 1, 'float32', i + 1) as tf.Tensor2D;
      const t0 = performance.now();
      opt.minimize(() => flow.loss(x), false, flow.trainableVariables);
      await tf.ready();
      if (i >= 2) times.push(performance.now() - t0);
      x.dispose();
    }
    times.sort((a, b) => a - b);
    const ms = times[times.length >> 1]!;
    const ref = torch(batch);
    const torchMs = 'skipped' in ref ? null : ref.ms_per_iter;
    rows.push({ batch, msPerIter: ms, torch: torchMs, ratio: torchMs ? ms / torchMs : null });
    log(`FFJORD iteration (rk4 × 8 = 32 NFE, direct), B = ${batch}: biflow/wasm ${ms.toFixed(0)} ms, PyTorch ${torchMs === null ? `skipped (${(ref as { skipped: string }).skipped})` : `${torchMs.toFixed(0)} ms`}${torchMs ? `, ratio ${(ms / torchMs).toFixed(2)}` : ''}`);
    opt.dispose();
    flow.dispose();
  }
  return rows;
}
