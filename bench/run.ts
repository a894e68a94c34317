/**
 * `npm run bench` — runs the benchmarks, prints tables, writes JSON to bench/results/.
 *   npm run bench                 full run
 *   npm run bench -- --quick      fewer tolerances, shorter timing (a smoke run)
 *   npm run bench -- --suite=flow-step   one suite (ode, tensor, flows, flow-step, ffjord, ffjord-step, biflow)
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import { odeBenchmark } from './ode.js';
import { tensorBenchmark } from './tensor.js';
import { flowsBenchmark, flowStepBenchmark } from './flows.js';
import { ffjordBenchmark, ffjordStepBenchmark } from './ffjord.js';
import { biflowBenchmark } from './biflow.js';

const quick = process.argv.includes('--quick');
const suiteArg = process.argv.find((a) => a.startsWith('--suite='));
const suites = (suiteArg ? suiteArg.slice('--suite='.length) : 'ode,tensor,flows,flow-step,ffjord,ffjord-step,biflow').split(',');
const tols = quick ? [1e-3, 1e-6, 1e-9] : [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];
const timing = quick ? { time: 20, iterations: 5 } : { time: 150, iterations: 10 };

const started = new Date();
console.log(`# biflow benchmarks — ${started.toISOString()} — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`);
let ode: Awaited<ReturnType<typeof odeBenchmark>> = [];
if (suites.includes('ode')) {
  console.log('\n# float64 ODE: work-precision vs odex, overhead vs a hand-specialised dopri5 loop');
  ode = await odeBenchmark({ tols, timing, log: (s) => console.log(s) });
}
let tensor: Awaited<ReturnType<typeof tensorBenchmark>> | null = null;
if (suites.includes('tensor')) {
  console.log('\n# tensor solves: gradient modes and field evaluation per backend');
  tensor = await tensorBenchmark({ timing: quick ? { time: 20, iterations: 3 } : { time: 300, iterations: 5 }, log: (s) => console.log(s), quick });
}

let flows: Awaited<ReturnType<typeof flowsBenchmark>> = [];
if (suites.includes('flows')) {
  console.log('\n# discrete flows on toy densities');
  flows = await flowsBenchmark({ iters: quick ? 50 : 1500, log: (s) => console.log(s) });
}

let flowStep: Awaited<ReturnType<typeof flowStepBenchmark>> = [];
if (suites.includes('flow-step')) {
  console.log('\n# discrete-flow iteration vs zuko (one thread), fused and taped; test NLL after the same iterations');
  flowStep = await flowStepBenchmark({ batches: quick ? [256] : [256, 1024], pairs: quick ? 3 : 20, nllIters: quick ? 0 : 1000, log: (s) => console.log(s) });
}

let ffjord: Awaited<ReturnType<typeof ffjordBenchmark>> | null = null;
if (suites.includes('ffjord')) {
  console.log('\n# FFJORD on 8gaussians');
  ffjord = await ffjordBenchmark({ iters: quick ? 5 : 1000, log: (s) => console.log(s) });
}
let ffjordStep: Awaited<ReturnType<typeof ffjordStepBenchmark>> = [];
if (suites.includes('ffjord-step')) {
  console.log('\n# FFJORD iteration vs PyTorch at equal NFE');
  ffjordStep = await ffjordStepBenchmark({ batches: quick ? [100] : [100, 1000], log: (s) => console.log(s), rounds: quick ? 1 : 3, iters: quick ? 2 : 5 });
}

let biflow: Awaited<ReturnType<typeof biflowBenchmark>> | null = null;
if (suites.includes('biflow')) {
  console.log('\n# BiFlow on 8gaussians: exact inverse vs the learned one-pass generator');
  biflow = await biflowBenchmark({
    iters: quick ? 5 : 1000, generatorIters: quick ? 5 : 2000, samples: quick ? 200 : 2000, log: (s) => console.log(s),
    saveTo: quick ? undefined : 'bench/results/biflow-8gaussians-model',
    figure: quick ? undefined : (png) => {
      mkdirSync(new URL('bench/results/', `file://${process.cwd()}/`), { recursive: true });
      writeFileSync(new URL('bench/results/biflow-8gaussians.png', `file://${process.cwd()}/`), png);
    },
  });
}

const summary = ode.length === 0 ? {} : {
  worstRatioVsOdex: Math.max(...ode.flatMap((r) => r.vsOdex.map((v) => v.ratio))),
  worstOverheadRatio: Math.max(...ode.flatMap((r) => r.overhead.map((o) => o.ratio))),
  medianOverheadRatio: (() => {
    const rs = ode.flatMap((r) => r.overhead.map((o) => o.ratio)).sort((a, b) => a - b);
    return rs[rs.length >> 1];
  })(),
};
console.log('\n# summary', JSON.stringify(summary));

// Results go to bench/results/ of the working directory (the compiled bench runs from dist/).
const dir = new URL('bench/results/', `file://${process.cwd()}/`);
mkdirSync(dir, { recursive: true });
const file = new URL(`bench-${started.toISOString().replace(/[:.]/g, '-')}.json`, dir);
const tmp = new URL(`${file.pathname.split('/').pop()}.tmp`, dir);
writeFileSync(tmp, JSON.stringify({ started: started.toISOString(), node: process.version, cpu: os.cpus()[0]?.model, quick, ode, tensor, flows, flowStep, ffjord, ffjordStep, biflow, summary }, null, 2));
renameSync(tmp, file);
console.log(`\nwrote ${file.pathname}`);
