/**
 * BiFlow on 8gaussians: the default mixed stack (ActNorm → CNF → LU → spline → CNF) trained by
 * maximum likelihood, then its one-pass generator trained by hidden alignment (3 interior times
 * per CNF block; segments 2-128-128-2, Adam 2e-3). Reports, side by side in one run: energy distance of each sampler's samples to
 * held-out data, median sampling time of each sampler and their ratio, reconstruction errors, and
 * the log-likelihood under F of each sampler's samples. The bar: generator energy distance
 * within 2× the exact sampler's at ≥ 20× less sampling time.
 */
import { createFlow, useBackend } from '../src/index.js';
import { compareFigure, samplerReport, saveFlow, trainGenerator, writeFolderAtomically } from '../src/biflow/index.js';
import type { ComparePanel } from '../src/biflow/index.js';
import { loadDataset } from '../src/data/index.js';
import { toPng } from '../src/plot/index.js';
import { train } from '../src/train/index.js';

export async function biflowBenchmark({ iters, generatorIters, samples, log, figure, saveTo }: { iters: number; generatorIters: number; samples: number; log: (s: string) => void; figure?: (png: Uint8Array) => void; saveTo?: string }) {
  await useBackend('wasm');
  const ds = loadDataset('8gaussians', { seed: 0 });
  const flow = createFlow({ type: 'biflow', dim: 2, cnf: { trace: 'hutchinson' } });
  const every = Math.max(1, Math.floor(iters / 5));
  const f = await train(flow, ds, { iters, batch: 100, lr: 1e-3, weightDecay: 1e-5, logEvery: every, progress: 'lines', write: (s) => log(s.trimEnd()) }, writeFolderAtomically);
  const g = await trainGenerator(flow, ds, { iters: generatorIters, batch: 100, lr: 2e-3, interior: 3, hidden: [128, 128], logEvery: Math.max(1, Math.floor(generatorIters / 5)), progress: 'lines', write: (s) => log(s.trimEnd()) });
  const testNll = flow.nll(ds.test);
  const report = samplerReport(flow, ds.test, { samples, repeats: 5 });
  const result = {
    iters, generatorIters, flowSeconds: f.seconds, generatorSeconds: g.result.seconds, testNll, segments: g.generator.count, ...report,
    energyRatio: report.energyGenerator! / report.energyInverse, meetsEnergyBar: report.energyGenerator! <= 2 * report.energyInverse, meetsSpeedBar: report.speedup! >= 20,
  };
  log(`BiFlow 8gaussians: test NLL ${testNll.toFixed(3)} nats; energy distance inverse ${report.energyInverse.toFixed(4)}, generator ${report.energyGenerator!.toFixed(4)} (ratio ${result.energyRatio.toFixed(2)}); ` +
    `sampling ${samples} points: inverse ${(report.secondsInverse * 1e3).toFixed(0)} ms, generator ${(report.secondsGenerator! * 1e3).toFixed(1)} ms (${report.speedup!.toFixed(0)}× faster); ` +
    `reconstruction ‖G(F(x)) − x‖ ${report.reconstructionData!.toFixed(4)}, ‖F(G(z)) − z‖ ${report.reconstructionLatent!.toFixed(4)}; log-lik of samples under F: inverse ${report.logProbInverse.toFixed(3)}, generator ${report.logProbGenerator!.toFixed(3)}`);
  if (figure) {
    const panel: ComparePanel = { model: 'biflow', density: flow.densityGrid([-4, 4, -4, 4], 100), samplesInverse: flow.sample(2000, { seed: 1 }).dataSync() as Float32Array, samplesGenerator: flow.sample(2000, { seed: 1, via: 'generator' }).dataSync() as Float32Array };
    figure(await toPng(compareFigure([panel], [-4, 4, -4, 4], 'BiFlow on 8gaussians: density · exact inverse · one-pass generator')));
  }
  if (saveTo) await saveFlow(flow, saveTo);
  flow.dispose();
  return result;
}
