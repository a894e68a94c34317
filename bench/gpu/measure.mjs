// The whole GPU measurement in one process tree: checks that the WebGPU adapter is a GPU (not a
// software rasteriser), runs `biflow bench ffjord-step --backend webgpu --json` for rk4 × 8 and
// dopri5 + backsolve at each batch size, the PyTorch references of bench/reference on CUDA at the
// same sizes, and prints one JSON object in which every figure carries the adapter's name.
// Plain JavaScript on the compiled package (dist/), so the GPU machine needs only node.
//
//   node bench/gpu/measure.mjs [--batches 1000,10000,100000] [--iters 5] [--rounds 3] [--warmup 3]
//                             [--python python3] [--torch-device cuda] [--no-torch] [--allow-software]
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const has = (name) => argv.includes(`--${name}`);
const batches = flag('batches', '1000,10000,100000').split(',').map(Number);
const iters = flag('iters', '5');
const rounds = flag('rounds', '3');
const warmup = flag('warmup', '3');
const python = flag('python', 'python3');
const torchDevice = flag('torch-device', 'cuda');
const cli = path.join(root, 'dist/src/cli/main.js');

function fail(message) {
  process.stderr.write(`bench/gpu: ${message}\n`);
  process.exit(1);
}

// 1. The adapter: refuse a software one (lavapipe, SwiftShader) unless told otherwise.
const { useBackend } = await import(path.join(root, 'dist/src/index.js'));
let info;
try {
  info = await useBackend('webgpu');
} catch (e) {
  fail(`no WebGPU backend: ${e.message}`);
}
const adapter = info.adapter;
const adapterName = adapter ? [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' ') : 'unknown';
if (!adapter || adapter.software) {
  if (!has('allow-software')) fail(`the WebGPU adapter is ${adapter ? `a software one (${adapterName})` : 'unknown'}, not a GPU: refusing to report its numbers. Check VK_DRIVER_FILES (the NVIDIA ICD), or pass --allow-software for a test run.`);
  process.stderr.write(`bench/gpu: measuring on the software adapter ${adapterName} (--allow-software)\n`);
}

/** Runs a command that prints JSON last; returns that object (or an error record). */
function jsonOf(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 64 << 20 });
  const last = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return { error: `exit ${r.status}: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}` };
  }
}

const figures = [];
const solvers = [
  { solver: 'rk4', flags: ['--steps', '8'], script: 'ffjord_step_torch.py', torchFlags: ['--steps', '8'], gradient: 'direct' },
  { solver: 'dopri5', flags: ['--tol', '1e-5'], script: 'ffjord_adaptive_torch.py', torchFlags: ['--rtol', '1e-5', '--atol', '1e-5'], gradient: 'backsolve' },
];
for (const s of solvers) {
  for (const batch of batches) {
    // 2. biflow on WebGPU (its own process: one backend, one engine, a clean device per figure).
    const ours = jsonOf(process.execPath, [cli, 'bench', 'ffjord-step', '--backend', 'webgpu', '--json', '--no-torch', '--solver', s.solver, ...s.flags,
      '--batch', String(batch), '--iters', iters, '--rounds', rounds, '--warmup', warmup]);
    const row = ours.rows?.[0];
    figures.push({
      impl: 'biflow', backend: 'webgpu', adapter: adapterName, solver: s.solver, gradient: s.gradient, batch,
      ...(row ? { ms_per_iter: row.ms_per_iter, nfe_forward: row.nfe_forward, nfe_backward: row.nfe_backward, pairs: row.pairs } : { error: ours.error ?? 'no rows' }),
    });
    process.stderr.write(`${JSON.stringify(figures.at(-1))}\n`);
    // 3. PyTorch on the same GPU.
    if (!has('no-torch')) {
      const t = jsonOf(python, [s.script, '--batch', String(batch), '--iters', String(Number(iters) * Number(rounds)), '--device', torchDevice, ...s.torchFlags], path.join(root, 'bench/reference'));
      figures.push({
        impl: 'pytorch', device: torchDevice, adapter: adapterName, solver: s.solver, gradient: s.gradient, batch,
        ...(t.error ? { error: t.error } : { ms_per_iter: t.ms_per_iter, nfe: t.nfe, torch: t.torch }),
      });
      process.stderr.write(`${JSON.stringify(figures.at(-1))}\n`);
    }
  }
}
// Side by side: biflow / PyTorch per solver and batch.
const ratios = figures.filter((f) => f.impl === 'biflow' && f.ms_per_iter).map((f) => {
  const t = figures.find((g) => g.impl === 'pytorch' && g.solver === f.solver && g.batch === f.batch && g.ms_per_iter);
  return { adapter: adapterName, solver: f.solver, batch: f.batch, biflow_ms: f.ms_per_iter, torch_ms: t?.ms_per_iter ?? null, ratio: t ? f.ms_per_iter / t.ms_per_iter : null };
});
process.stdout.write(`${JSON.stringify({ command: 'bench/gpu', date: new Date().toISOString(), node: process.version, adapter: { name: adapterName, ...adapter }, software: adapter?.software ?? null, figures, ratios })}\n`);
process.exit(0);
