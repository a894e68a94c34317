/**
 * A Boltzmann generator (Noé et al., Science 2019): a RealNVP flow learns to sample
 * p(x) ∝ exp(−u(x)/kT) for the 2-D double well and the Müller–Brown potential, trained by
 * maximum likelihood on MALA chains it runs itself (started in both wells: they never cross the
 * barrier) and by the energy-based reverse KL. Importance weights w = exp(−u/kT − log q) then give
 * the effective sample size and the free-energy difference between the wells, set beside the exact
 * value from quadrature on a grid.
 *
 *   npx tsx examples/boltzmann.ts [--quick] [--potential double-well|mueller-brown] [--out out] [--seed 0]
 */
import { createFlow, tf, useBackend } from '../src/index.js';
import type { Flow } from '../src/index.js';
import { rng } from '../src/data/index.js';
import { POTENTIALS, importanceWeights, mcmc, quadratureFreeEnergy, reverseKL, reweightedFreeEnergy } from '../src/physics/index.js';
import type { Potential } from '../src/physics/index.js';
import { densityFigure } from '../src/plot/index.js';
import { flag, isMain, option, writePng } from './common.js';

interface Settings { chains: number; steps: number; iters: number; batch: number; samples: number; grid: number; hidden: number[]; layers: number }
const FULL: Settings = { chains: 200, steps: 1000, iters: 1000, batch: 256, samples: 20000, grid: 1000, hidden: [64, 64], layers: 8 };
const QUICK: Settings = { chains: 40, steps: 100, iters: 40, batch: 128, samples: 2000, grid: 200, hidden: [16, 16], layers: 4 };

/** Chain starts and MALA steps: the two minima of each potential (A first), ε giving ~60 % acceptance. */
const START: Record<string, { wells: [number, number][]; eps: number }> = {
  'double-well': { wells: [[-2.53, 0], [2.36, 0]], eps: 0.05 },
  'mueller-brown': { wells: [[-0.558, 1.442], [0.623, 0.028]], eps: 1e-3 },
};

/** Mean of resampled estimates' spread: the bootstrap standard error of the reweighted ΔF. */
function bootstrapSE(logW: Float64Array, states: Uint8Array, kT: number, seed: number, reps = 200): number {
  const r = rng(`bootstrap:${seed}`);
  const n = logW.length;
  const est: number[] = [];
  const lw = new Float64Array(n);
  const st = new Uint8Array(n);
  for (let b = 0; b < reps; b++) {
    for (let i = 0; i < n; i++) {
      const k = r.int(n);
      lw[i] = logW[k]!;
      st[i] = states[k]!;
    }
    const v = reweightedFreeEnergy(lw, st, kT);
    if (Number.isFinite(v)) est.push(v);
  }
  const m = est.reduce((a, b) => a + b, 0) / est.length;
  return Math.sqrt(est.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, est.length - 1));
}

/** Unnormalised density exp(−(u − u_min)/kT) on the grid layout of densityFigure. */
function boltzmannGrid(p: Potential, n: number): Float32Array {
  const [x0, x1, y0, y1] = p.extent;
  const u = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) u[j * n + i] = p.energy64(x0 + ((i + 0.5) * (x1 - x0)) / n, y0 + ((j + 0.5) * (y1 - y0)) / n);
  const umin = Math.min(...u);
  return Float32Array.from(u, (v) => Math.exp(-(v - umin) / p.kT));
}

/** `count` rows of a row-major [n, 2] array, evenly spread over it (chains' rows are grouped by step). */
function strided(rows: Float32Array, count: number): Float32Array {
  const n = rows.length / 2;
  const step = Math.max(1, Math.floor(n / count));
  return Float32Array.from({ length: 2 * Math.min(count, n) }, (_, k) => rows[2 * (Math.floor(k / 2) * step) + (k % 2)]!);
}

export async function runPotential(key: keyof typeof POTENTIALS, s: Settings, outDir: string, seed: number): Promise<Record<string, unknown>> {
  const p = POTENTIALS[key];
  const kT = p.kT;
  const t0 = performance.now();
  const start = START[key]!;
  const r = rng(`boltzmann:${seed}`);
  // Half the chains in each well, slightly spread.
  const x0 = Float32Array.from({ length: 2 * s.chains }, (_, k) => start.wells[Math.floor(k / 2) % 2]![k % 2]! + 0.01 * r.normal());
  const chain = mcmc(p.energy, x0, 2, { steps: s.steps, burnIn: Math.floor(s.steps / 5), stepSize: start.eps, kT, method: 'mala', seed });
  const mcmcRows = chain.samples.length / 2;
  const mcmcStates = Uint8Array.from({ length: mcmcRows }, (_, i) => p.state(chain.samples[2 * i]!, chain.samples[2 * i + 1]!));
  const mcmcPB = mcmcStates.reduce((a, b) => a + b, 0) / mcmcRows;

  const flow: Flow = createFlow({ type: 'realnvp', dim: 2, hidden: s.hidden, layers: s.layers, seed });
  const opt = tf.train.adam(s === QUICK ? 3e-3 : 1e-3);
  // Maximum likelihood on the chains first (it finds both wells), then ML + reverse KL (which
  // corrects the wells' weights, since equal numbers of chains sit in each).
  const mlOnly = Math.floor(s.iters * 0.4);
  const batch = new Float32Array(2 * s.batch);
  let loss = { ml: NaN, kl: NaN };
  for (let it = 0; it < s.iters; it++) {
    for (let k = 0; k < s.batch; k++) {
      const row = r.int(mcmcRows);
      batch.set(chain.samples.subarray(2 * row, 2 * row + 2), 2 * k);
    }
    const x = tf.tensor2d(batch, [s.batch, 2]);
    const parts: tf.Scalar[] = [];
    const total = opt.minimize(() => {
      const ml = flow.loss(x);
      parts.push(tf.keep(ml.clone()));
      if (it < mlOnly) return ml;
      const kl = reverseKL(flow, p.energy, { n: s.batch, kT, seed: seed * 1_000_003 + it });
      parts.push(tf.keep(kl.clone()));
      return tf.add(tf.mul(0.5, ml), kl) as tf.Scalar;
    }, true, flow.trainableVariables)!;
    const [ml, kl] = parts.map((t) => t.dataSync()[0]!);
    loss = { ml: ml!, kl: kl ?? NaN };
    tf.dispose([x, total, ...parts]);
    if ((it + 1) % Math.max(1, Math.floor(s.iters / 10)) === 0) console.log(`${key}: iter ${it + 1}/${s.iters}  NLL(chains) ${loss.ml.toFixed(3)}  reverse KL + log Z ${Number.isNaN(loss.kl) ? '(from iteration ' + (mlOnly + 1) + ')' : loss.kl.toFixed(3)}`);
  }
  opt.dispose();

  // Importance weights of fresh flow samples, with float64 energies.
  const { x, logProb } = flow.sampleAndLogProb(s.samples, { seed: seed + 7 });
  const xs = x.dataSync() as Float32Array;
  const logQ = logProb.dataSync() as Float32Array;
  tf.dispose([x, logProb]);
  const energies = Float64Array.from({ length: s.samples }, (_, i) => p.energy64(xs[2 * i]!, xs[2 * i + 1]!));
  const states = Uint8Array.from({ length: s.samples }, (_, i) => p.state(xs[2 * i]!, xs[2 * i + 1]!));
  const { logW, ess, essFraction } = importanceWeights(energies, logQ, kT);
  const reweighted = reweightedFreeEnergy(logW, states, kT);
  const se = bootstrapSE(logW, states, kT, seed);
  const rawPB = states.reduce((a, b) => a + b, 0) / s.samples;
  const exact = quadratureFreeEnergy(p, kT, s.grid);
  const coarse = quadratureFreeEnergy(p, kT, s.grid / 2);
  const fromP = (pB: number) => -kT * Math.log(pB / (1 - pB));

  const n = s === QUICK ? 60 : 120;
  const shown = s === QUICK ? 300 : 1500;
  const figures = [
    await writePng(outDir, `boltzmann-${key}-target.png`, densityFigure(boltzmannGrid(p, n), n, p.extent, {
      title: `${p.name}: exp(−u/kT), kT = ${kT}, MALA samples`, colourLabel: '−(u − u_min)/kT (nats)', samples: strided(chain.samples, shown),
    })),
    await writePng(outDir, `boltzmann-${key}-flow.png`, densityFigure(flow.densityGrid(p.extent, n), n, p.extent, {
      title: `${p.name}: flow q and its samples (ESS ${(100 * essFraction).toFixed(1)} %)`, colourLabel: 'log q (nats)', samples: xs.subarray(0, 2 * shown),
    })),
  ];
  flow.dispose();
  const result = {
    potential: key, kT, seconds: (performance.now() - t0) / 1000, iters: s.iters,
    mcmc: { chains: s.chains, steps: s.steps, acceptance: chain.acceptance, pB: mcmcPB, deltaF: fromP(mcmcPB) },
    samples: s.samples, ess, essFraction,
    deltaF: { reweighted, bootstrapSE: se, exact: exact.deltaF, exactHalfGrid: coarse.deltaF, flowUnweighted: fromP(rawPB) },
    pB: { exact: exact.pB, flowUnweighted: rawPB },
    finalLoss: loss, figures,
  };
  console.log(`${p.name} (kT = ${kT}): ESS ${ess.toFixed(0)} of ${s.samples} (${(100 * essFraction).toFixed(1)} %)`);
  console.log(`  ΔF = F_B − F_A: reweighted ${reweighted.toFixed(3)} ± ${se.toFixed(3)} | exact (quadrature ${s.grid}²) ${exact.deltaF.toFixed(4)} | flow unweighted ${fromP(rawPB).toFixed(3)} | MALA chains ${fromP(mcmcPB).toFixed(3)}`);
  return result;
}

export async function main(argv = process.argv.slice(2)): Promise<Record<string, unknown>> {
  await useBackend('auto');
  const quick = flag('quick', argv);
  const outDir = option('out', 'out', argv);
  const seed = Number(option('seed', '0', argv));
  const which = option('potential', 'both', argv);
  const keys = (which === 'both' ? Object.keys(POTENTIALS) : [which]) as (keyof typeof POTENTIALS)[];
  for (const k of keys) if (!(k in POTENTIALS)) throw new Error(`boltzmann: --potential must be double-well, mueller-brown or both, got "${k}".`);
  const results = [];
  for (const k of keys) results.push(await runPotential(k, quick ? QUICK : FULL, outDir, seed));
  const out = { example: 'boltzmann', quick, figures: results.flatMap((r) => r.figures as string[]), results };
  console.log(JSON.stringify(out));
  return out;
}

if (isMain(import.meta.url)) await main();
