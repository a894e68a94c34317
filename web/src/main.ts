/**
 * The playground: wires the controls to a {@link Trainer}, which trains with biflow's `train`
 * (after each iteration a callback reports and yields to the page; every few iterations the
 * validation callback redraws the panels; the stop button aborts its signal).
 * URL parameters preset the controls: ?data=moons&model=realnvp&objective=ml&hidden=64,64&backend=wasm&iters=50&autostart=1
 */
import { backendInfo, tf } from 'biflow';
import type { BackendName, FlowType, MethodName, Objective, TraceEstimator } from 'biflow';
import { FlowAnimation } from './animate.js';
import { describe, loseDevice, startBackend, watchDeviceLost } from './backend.js';
import { drawChart } from './chart.js';
import { EXTENT, clear, drawDensity, drawPoints, toData } from './draw.js';
import { DATA_CHOICES, DataSource } from './source.js';
import { status, yieldToUi } from './status.js';
import { Trainer } from './trainer.js';
import type { Knobs } from './trainer.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const field = (id: string) => $<HTMLInputElement | HTMLSelectElement>(id);
for (const name of DATA_CHOICES) $('data').append(new Option(name, name));
for (const id of ['data', 'model', 'objective', 'hidden', 'solver', 'tol', 'trace', 'batch', 'lr', 'backend']) {
  const v = params.get(id);
  if (v !== null) field(id).value = v;
}
if (!params.get('data')) field('data').value = '8gaussians';
const maxIters = Number(params.get('iters') ?? Infinity);
const drawEvery = Number(params.get('drawEvery') ?? 10);

const source = new DataSource(field('data').value);
const animation = new FlowAnimation($('flow'));
let trainer: Trainer | null = null;
/** Aborts the run in progress (it stops after its current iteration). */
let stopper: AbortController | null = null;

function knobs(): Knobs {
  return {
    model: field('model').value as FlowType,
    objective: field('objective').value as Objective,
    hidden: field('hidden').value.split(',').map((s) => Number(s.trim())),
    solver: field('solver').value as MethodName,
    tol: Number(field('tol').value),
    trace: field('trace').value as TraceEstimator,
    batch: Number(field('batch').value),
    lr: Number(field('lr').value),
  };
}

function showError(message: string | null): void {
  status.error = message;
  const el = $('error');
  el.hidden = message === null;
  el.textContent = message ?? '';
}

function setRunning(on: boolean): void {
  status.running = on;
  $('run').textContent = on ? 'stop' : trainer && trainer.iter > 0 ? 'resume' : 'train';
}

function drawData(): void {
  clear($('data-canvas'));
  drawPoints($('data-canvas'), source.preview(1500), '#7fc8f8');
}

function charts(): void {
  const h = trainer?.history ?? [];
  drawChart($('loss-chart'), [
    { label: 'training loss', color: '#7fc8f8', points: h.map((r) => [r.iter, r.loss] as const) },
    { label: 'test NLL', color: '#ffb86b', points: trainer?.nll ?? [] },
  ]);
  drawChart($('nfe-chart'), [
    { label: 'forward NFE', color: '#a5e887', points: h.filter((r) => r.nfeForward > 0).map((r) => [r.iter, r.nfeForward] as const) },
    { label: 'backward NFE', color: '#e887c6', points: h.filter((r) => r.nfeBackward > 0).map((r) => [r.iter, r.nfeBackward] as const) },
  ], 'no ODE solves: a discrete flow');
}

/** Density, samples, animation frames and charts of the model `t`. */
async function refresh(t: Trainer): Promise<void> {
  const n = t.knobs.model === 'ffjord' ? 40 : 64;
  drawDensity($('density'), await t.density(EXTENT, n), n);
  drawPoints($('density'), await t.samples(400), 'rgba(255,255,255,0.7)', 1.4);
  status.densityDraws++;
  animation.setFrames(await t.frames(source.test(300)));
  charts();
}

function report(): void {
  const t = trainer;
  status.iterations = t?.iter ?? 0;
  const last = t?.history[t.history.length - 1];
  status.loss = last?.loss ?? null;
  status.losses = t?.history.map((r) => r.loss) ?? [];
  status.nfeForward = last?.nfeForward ?? 0;
  status.nfeBackward = last?.nfeBackward ?? 0;
  status.itersPerSecond = t && t.trainSeconds > 0 ? t.iter / t.trainSeconds : null;
  status.numTensors = tf.memory().numTensors;
  const rate = status.itersPerSecond ? `${status.itersPerSecond.toFixed(1)} it/s` : '';
  $('status').textContent = `iteration ${status.iterations}  loss ${status.loss?.toFixed(3) ?? '–'}  test NLL ${status.nll?.toFixed(3) ?? '–'}  NFE ${status.nfeForward}/${status.nfeBackward}  ${rate}  tensors ${status.numTensors}`;
}

/** A fresh model from the knobs; a flow that cannot be built shows the registry's message. */
function rebuild(): void {
  stop();
  setRunning(false);
  trainer?.dispose();
  trainer = null;
  status.model = field('model').value;
  clear($('density'));
  clear($('flow'));
  try {
    trainer = new Trainer(knobs(), (i, n) => source.batch(i, n));
    showError(null);
  } catch (e) {
    showError((e as Error).message);
  }
  charts();
  report();
}

/** Asks the run in progress to stop; `status.running` turns false once it has. */
function stop(): void {
  stopper?.abort();
  stopper = null;
}

/** Trains the current model until `iters` or the stop button; the run belongs to this trainer only. */
async function loop(): Promise<void> {
  const t = trainer!;
  const controller = (stopper = new AbortController());
  setRunning(true);
  try {
    await t.run({
      signal: controller.signal, until: maxIters, validation: source.test(500), evalEvery: drawEvery,
      onIteration: async () => {
        if (t === trainer) report();
        await yieldToUi();
      },
      onEvaluation: async (nll) => {
        if (t !== trainer) return;
        status.nll = nll;
        await refresh(t);
      },
    });
  } catch (e) {
    if (t === trainer) showError((e as Error).message);
  }
  if (t !== trainer) return;
  if (stopper === controller) stopper = null;
  setRunning(false);
  report();
}

function toggle(): void {
  if (status.running) return stop();
  if (!trainer) return showError(status.error ?? 'No model: choose another model or press "new model".');
  if (!source.ready) return showError('Draw at least 20 points on the data panel first (drag the mouse).');
  void loop();
}

/** Activates the chosen backend and builds a model on it; if it cannot run, says why and uses 'auto'. */
async function switchBackend(): Promise<void> {
  stop();
  setRunning(false);
  let failure: string | null = null;
  try {
    await startBackend(field('backend').value as BackendName);
  } catch (e) {
    const fallback = await startBackend('auto');
    failure = `${(e as Error).message} Using ${fallback.name} instead.`;
  }
  const info = backendInfo();
  status.backend = info.name;
  $('backend-name').textContent = describe(info);
  watchDeviceLost((reason) => void deviceLost(reason));
  rebuild();
  if (failure) showError(failure);
}

/** The WebGPU device went away with every tensor on it: says so, and carries on on wasm with a fresh model. */
async function deviceLost(reason: string): Promise<void> {
  if (status.backend !== 'webgpu') return;
  status.deviceLost = reason;
  field('backend').value = 'wasm';
  await switchBackend();
  showError(`The WebGPU device was lost (${reason}); its model went with it. Now on wasm with a fresh model: press train to go on.`);
}

$('run').addEventListener('click', toggle);
$('reset').addEventListener('click', rebuild);
for (const id of ['model', 'objective', 'hidden', 'solver', 'tol', 'trace', 'batch', 'lr']) field(id).addEventListener('change', rebuild);
$('backend').addEventListener('change', () => void switchBackend());
field('data').addEventListener('change', () => {
  source.name = field('data').value;
  drawData();
  rebuild();
});
$('clear').addEventListener('click', () => {
  source.drawn.length = 0;
  drawData();
});
$<HTMLCanvasElement>('data-canvas').addEventListener('pointermove', (ev) => {
  if (ev.buttons !== 1) return;
  if (!source.isDrawn) {
    field('data').value = source.name = 'draw';
    rebuild();
  }
  source.spray(...toData($('data-canvas'), ev.offsetX, ev.offsetY));
  drawData();
});

// The browser tests lose the device on purpose through this.
(window as unknown as { __biflowTest: unknown }).__biflowTest = { loseDevice };
drawData();
await switchBackend();
status.ready = true;
if (params.get('autostart') === '1') toggle();
