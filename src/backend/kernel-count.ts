/**
 * Kernels per call of a function: the engine's ops (`tf.profile`, one per op an engine runs, a
 * registered fused kernel counting once) and the backend kernels that kernel runners call below
 * the engine (inside fused ops). Host loops on backend buffers are not kernels and not counted.
 */
import { tf } from './engine.js';
import { runnerKernelCalls } from './kernels.js';

/** What {@link countKernels} reports. */
export interface KernelCount {
  /** Engine kernels (ops) run. */
  engine: number;
  /** Backend kernels called by kernel runners inside fused ops. */
  runner: number;
  /** engine + runner. */
  total: number;
  /** Engine kernels by name, most frequent first. */
  byName: [string, number][];
}

/** Runs fn once under the engine's profiler and counts the kernels it ran (fn's result is disposed). */
export async function countKernels(fn: () => tf.TensorContainer | void): Promise<KernelCount> {
  const before = runnerKernelCalls();
  const info = await tf.profile(() => fn() as tf.TensorContainer);
  const runner = runnerKernelCalls() - before;
  const names = new Map<string, number>();
  for (const k of info.kernels) names.set(k.name, (names.get(k.name) ?? 0) + 1);
  return { engine: info.kernels.length, runner, total: info.kernels.length + runner, byName: [...names].sort((a, b) => b[1] - a[1]) };
}
