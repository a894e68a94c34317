/**
 * Time to quality of flow matching against maximum likelihood on a 2-D set (default 8gaussians; issue 16), side by
 * side in one process: an FFJORD model trained by ML (dopri5 at 1e-5, Hutchinson trace,
 * backsolve adjoint, T trained) and two trained by I-CFM and OT-CFM (T = 0.5 fixed), all the
 * concatsquash 2-64-64-64-2 tanh field, batch 256, Adam 1e-3, the same batches. For the first
 * `mlIters` iterations the three alternate step by step (a slow spell of the shared machine hits
 * all three); the FM models then go on alone until they reach the ML model's final test NLL or
 * `fmIters`. Each step is the trainer's (the model's loss under tf.variableGrads, one Adam
 * update); training seconds count the steps only. Every `evalEvery` iterations, the exact test NLL
 * (exact trace, 5000 held-out points, outside the timed steps). Finally the sampling NFE of each
 * model at rtol = atol = 1e-5 (dopri5, 1000 samples).
 *
 *   npx tsx bench/fm.ts [--data 8gaussians] [--ml-iters 1000] [--fm-iters 6000] [--eval-every 100] [--fm-lr 1e-3] [--out NAME]
 * writes bench/results/NAME.json and docs/NAME.png (NAME: fm-time-to-nll).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createFlow, useBackend, setTrace, tf, CNF, leafBlocks } from '../src/index.js';
import type { Flow } from '../src/index.js';
import { loadDataset } from '../src/data/index.js';
import { flowMatchingObjective } from '../src/ffjord/flow-matching.js';
import type { Trainable } from '../src/train/index.js';
import { logLogChart, toPng } from '../src/plot/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const mlIters = arg('ml-iters', 1000);
const fmIters = arg('fm-iters', 6000);
const evalEvery = arg('eval-every', 100);
/** Adam's learning rate of the FM models (the ML model's is 1e-3). */
const fmLr = arg('fm-lr', 1e-3);
const sarg = (name: string, dflt: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1]! : dflt);
const out = sarg('out', 'fm-time-to-nll');
const dataName = sarg('data', '8gaussians');
const batch = 256;

await useBackend('wasm');
const data = loadDataset(dataName, { seed: 0 });
const field = { dim: 2, hidden: [64, 64, 64], seed: 1 };

interface Run {
  name: string;
  flow: Flow;
  model: Trainable;
  opt: tf.Optimizer;
  iter: number;
  seconds: number;
  curve: { iter: number; seconds: number; testNll: number }[];
}
const make = (name: string, flow: Flow, model: Trainable, lr = 1e-3): Run => ({ name, flow, model, opt: tf.train.adam(lr), iter: 0, seconds: 0, curve: [] });
const ml = createFlow({ type: 'ffjord', ...field, cnf: { trace: 'hutchinson', method: 'dopri5', rtol: 1e-5, atol: 1e-5, gradient: 'backsolve' } });
const cfm = createFlow({ type: 'ffjord', ...field });
const ot = createFlow({ type: 'ffjord', ...field });
const runs = [make('ML', ml, ml), make('CFM', cfm, flowMatchingObjective(cfm, { objective: 'cfm', seed: 1 }), fmLr), make('OT-CFM', ot, flowMatchingObjective(ot, { objective: 'ot-cfm', seed: 1 }), fmLr)];
const cnfOf = (f: Flow) => leafBlocks(f.bijector).find((b): b is CNF => b instanceof CNF)!;

function exactNll(f: Flow): number {
  const cnf = cnfOf(f);
  const trace = cnf.trace;
  setTrace(f.bijector, 'exact');
  try {
    return f.nll(data.test);
  } finally {
    cnf.trace = trace;
  }
}

function step(r: Run): void {
  const x = tf.tensor2d(data.batch(r.iter, batch), [batch, 2]);
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => r.model.loss(x), r.model.trainableVariables);
  r.opt.applyGradients(grads as tf.NamedTensorMap as never);
  value.dataSync();
  r.seconds += (performance.now() - t0) / 1000;
  tf.dispose([x, value, ...Object.values(grads)]);
  r.iter++;
  if (r.iter % evalEvery === 0) {
    r.curve.push({ iter: r.iter, seconds: r.seconds, testNll: exactNll(r.flow) });
    console.log(`${r.name} iter ${r.iter}: ${r.seconds.toFixed(1)} s, test NLL ${r.curve.at(-1)!.testNll.toFixed(4)}`);
  }
}

const started = new Date();
for (let i = 0; i < mlIters; i++) for (const r of runs) step(r);
const target = runs[0]!.curve.at(-1)!.testNll;
const mlSeconds = runs[0]!.seconds;
for (const r of runs.slice(1)) {
  while (r.iter < fmIters && !(r.curve.at(-1)!.testNll <= target)) step(r);
}

function sampling(f: Flow) {
  const cnf = cnfOf(f);
  cnf.setSolver({ method: 'dopri5', rtol: 1e-5, atol: 1e-5 });
  const t0 = performance.now();
  tf.dispose(f.sample(1000, { seed: 7 }));
  return { nfe: cnf.stats.nfeInverse, seconds: (performance.now() - t0) / 1000 };
}

const rows = runs.map((r) => {
  const reached = r.curve.find((c) => c.testNll <= target) ?? null;
  return {
    name: r.name, iters: r.iter, seconds: r.seconds, msPerIter: (1000 * r.seconds) / r.iter, finalNll: r.curve.at(-1)!.testNll,
    reachedMlNll: reached, fractionOfMlSeconds: reached ? reached.seconds / mlSeconds : null, T: cnfOf(r.flow).T, sampling: sampling(r.flow), curve: r.curve,
  };
});
for (const r of rows) {
  console.log(`${r.name}: ${r.iters} iterations, ${r.seconds.toFixed(1)} s (${r.msPerIter.toFixed(1)} ms/it), final test NLL ${r.finalNll.toFixed(4)}, ` +
    `${r.reachedMlNll ? `reaches ML's ${target.toFixed(4)} at iteration ${r.reachedMlNll.iter} after ${r.reachedMlNll.seconds.toFixed(1)} s (${(100 * r.fractionOfMlSeconds!).toFixed(1)}% of ML's ${mlSeconds.toFixed(1)} s)` : `does not reach ML's ${target.toFixed(4)}`}; sampling NFE ${r.sampling.nfe} (${r.sampling.seconds.toFixed(2)} s for 1000)`);
}
const machine = { date: started.toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadavg: os.loadavg() };
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/${out}.json`, `${JSON.stringify({ data: dataName, batch, mlIters, fmIters, evalEvery, fmLr, targetNll: target, mlSeconds, rows, machine }, null, 1)}\n`);
const svg = logLogChart(rows.map((r) => ({ name: r.name, points: r.curve.map((c) => [c.seconds, c.testNll] as [number, number]) })), {
  title: `${dataName}: exact test NLL against training seconds`, xLabel: 'training seconds (log)', yLabel: 'test NLL, nats (log)',
});
mkdirSync('docs', { recursive: true });
writeFileSync(`docs/${out}.png`, await toPng(svg));
