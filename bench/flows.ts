/**
 * Discrete flows on 2-D toy densities: test NLL (nats, 5000 held-out points), parameter count,
 * seconds per training iteration and the time of one sampling pass, per model, with comparable
 * parameter budgets (about 17–27k weights each).
 */
import { createFlow, tf, useBackend } from '../src/index.js';
import type { FlowConfig } from '../src/index.js';
import { writeFolderAtomically } from '../src/biflow/io.js';
import { loadDataset } from '../src/data/index.js';
import { train } from '../src/train/index.js';
import { medianMs } from './timing.js';
import { flowStepComparison, FLOW_STEP_MODELS } from '../src/cli/bench-flow.js';

const MODELS: Omit<FlowConfig, 'dim'>[] = [
  { type: 'nice', layers: 6, hidden: [64, 64] },
  { type: 'realnvp', layers: 6, hidden: [64, 64] },
  { type: 'glow', layers: 6, hidden: [64, 64] },
  { type: 'nsf', layers: 4, hidden: [64, 64], bins: 8, bound: 4 },
];

export interface FlowRow {
  data: string;
  model: string;
  params: number;
  testNll: number;
  secondsPerIter: number;
  sampleMs: number;
}

export async function flowsBenchmark({ iters, log }: { iters: number; log: (s: string) => void }): Promise<FlowRow[]> {
  await useBackend('wasm');
  const rows: FlowRow[] = [];
  log(`\n## discrete flows, ${iters} iterations, batch 200, Adam 2e-3, wasm\n`);
  log('data          model      params   test NLL   s/iter   sample 5000 (ms)');
  for (const data of ['8gaussians', 'checkerboard', '2spirals']) {
    const ds = loadDataset(data, { seed: 0 });
    for (const m of MODELS) {
      const flow = createFlow({ ...m, dim: 2, seed: 0 } as FlowConfig);
      const r = await train(flow, ds, { iters, batch: 200, lr: 2e-3, progress: 'none', logEvery: iters }, writeFolderAtomically);
      const testNll = flow.nll(ds.test);
      const sampleMs = await medianMs(() => tf.dispose(flow.sample(5000, { seed: 1 })), { time: 200, iterations: 5 });
      const row = { data, model: m.type, params: flow.trainableVariables.reduce((n, v) => n + v.size, 0), testNll, secondsPerIter: r.seconds / r.iters, sampleMs };
      rows.push(row);
      log(`${data.padEnd(13)} ${m.type.padEnd(8)} ${String(row.params).padStart(8)} ${testNll.toFixed(3).padStart(10)} ${row.secondsPerIter.toFixed(4).padStart(8)} ${sampleMs.toFixed(1).padStart(10)}`);
      flow.dispose();
    }
  }
  return rows;
}

/**
 * `biflow bench flow-step` for every discrete flow: a training iteration against zuko (one
 * thread) side by side, fused and taped, and the test NLL of both after the same iterations.
 */
export async function flowStepBenchmark({ batches, pairs, nllIters, log }: { batches: number[]; pairs: number; nllIters: number; log: (s: string) => void }) {
  await useBackend('wasm');
  const common = { models: [...FLOW_STEP_MODELS], batches, seed: 0, pairs, warmup: 3, torch: true, threads: 1, log };
  const fused = await flowStepComparison({ ...common, fused: true, nllIters });
  const taped = await flowStepComparison({ ...common, fused: false, nllIters: 0 });
  return [...fused, ...taped];
}
