/**
 * FFJORD on the 8-Gaussians toy density, on the default backend, for about a minute:
 * trains with Hutchinson's trace and the continuous adjoint, then reports the test NLL with the
 * exact trace and writes the learned density to out/ffjord-density.png.
 *
 *   npm run demo            (60 s by default; BIFLOW_DEMO_SECONDS=N changes the budget)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createFlow, tf, useBackend, backendInfo } from '../src/index.js';
import { loadDataset } from '../src/data/index.js';
import { densityFigure, toPng } from '../src/plot/index.js';

async function main(): Promise<void> {
  await useBackend('auto');
  const seconds = Number(process.env.BIFLOW_DEMO_SECONDS ?? 60);
  const data = loadDataset('8gaussians', { seed: 0 });
  const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [64, 64, 64], cnf: { trace: 'hutchinson', rtol: 1e-5, atol: 1e-5 } });
  // A larger step than FFJORD's 1e-3 so that one minute shows the eight modes.
  const opt = tf.train.adam(5e-3);
  const start = performance.now();
  let iter = 0;
  console.log(`training FFJORD on 8gaussians for ~${seconds} s on ${backendInfo().name}`);
  while ((performance.now() - start) / 1000 < seconds) {
    const x = tf.tensor2d(data.batch(iter, 100), [100, 2]);
    const loss = opt.minimize(() => flow.loss(x), true, flow.trainableVariables)!;
    if (++iter % 20 === 0) console.log(`iter ${iter}  loss ${loss.dataSync()[0]!.toFixed(3)}  NFE forward ${flow.stats().nfeForward}  backward ${flow.stats().nfeBackward}`);
    tf.dispose([x, loss]);
  }
  // Likelihoods are exact by default: the exact trace, though the CNF trained with Hutchinson's.
  const nll = flow.nll(data.test.subarray(0, 2000));
  console.log(`after ${iter} iterations: test NLL ${nll.toFixed(3)} nats (exact trace, 1000 points), forward NFE ${flow.stats().nfeForward}`);
  const n = 80;
  const ext: [number, number, number, number] = [-4, 4, -4, 4];
  const density = flow.densityGrid(ext, n);
  await mkdir('out', { recursive: true });
  await writeFile('out/ffjord-density.png', await toPng(densityFigure(density, n, ext, { title: `FFJORD, ${iter} iterations` })));
  console.log('wrote out/ffjord-density.png');
  opt.dispose();
  flow.dispose();
}

await main();
