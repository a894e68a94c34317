/**
 * The discrete flows' fused ops as registered tfjs kernels (wasm, cpu) with closed-form gradients:
 * a forward kernel whose outputs include what its backward pass reads (so the engine's tape owns
 * the saved buffers), and a gradient that refuses to be differentiated again (it is no taped
 * computation: a gradient of it would silently miss terms).
 */
import { tf } from '../backend/engine.js';
import { KernelRunner } from '../backend/kernels.js';
import type { HostBuffers } from '../backend/kernels.js';
import { engineState } from '../backend/tape.js';
import { BiflowError } from '../errors.js';

type T = tf.TensorInfo;

/** The backends the fused ops run on: those whose buffers the host reads in place. */
const FUSED_BACKENDS = ['wasm', 'cpu'] as const;

/** A runner on the active backend and its host buffers (call only where {@link fusedOpsAvailable}). */
function hostRunner(): { r: KernelRunner; host: HostBuffers } {
  const r = KernelRunner.create()!;
  return { r, host: r.hostOrCpu()! };
}

const availability = new Map<string, boolean>();

/** Whether the active backend runs the fused ops (wasm, cpu); elsewhere the taped paths run. */
export function fusedOpsAvailable(): boolean {
  // Asked on every forward pass: decided once per backend (it depends on the backend alone).
  const name = tf.getBackend();
  let ok = availability.get(name);
  if (ok === undefined) {
    const r = KernelRunner.create();
    ok = r !== null && (FUSED_BACKENDS as readonly string[]).includes(name) && r.hostOrCpu() !== null;
    r?.free();
    availability.set(name, ok);
  }
  return ok;
}

/** What {@link registerFusedOp} registers. */
export interface FusedOp<A> {
  name: string;
  /** The inputs by name, in the order `backward` returns their gradients. */
  inputs: string[];
  /** Per output, whether the backward pass reads it (it follows the saved inputs in `saved`). */
  outputsToSave: boolean[];
  /** The outputs, as runner values (`r.output` hands them to the engine). */
  forward(r: KernelRunner, host: HostBuffers, inputs: Record<string, T>, attrs: A): T[];
  /** The inputs' gradients from the outputs' cotangents and the saved inputs and outputs. */
  backward(r: KernelRunner, host: HostBuffers, dy: T[], saved: T[], attrs: A): T[];
  /** The error's text when a gradient of the gradient is asked for. */
  refusal: string;
}

/** Registers the op's kernel on the fused backends and its gradient. */
export function registerFusedOp<A>(op: FusedOp<A>): void {
  const kernelFunc = ({ inputs, attrs }: { inputs: Record<string, T>; attrs: A }): T[] => {
    const { r, host } = hostRunner();
    try {
      return op.forward(r, host, inputs, attrs).map((t) => r.output(t));
    } finally {
      r.free();
    }
  };
  for (const backendName of FUSED_BACKENDS) tf.registerKernel({ kernelName: op.name, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: op.name,
    inputsToSave: op.inputs,
    outputsToSave: op.outputsToSave,
    gradFunc: (dy, saved, attrs) => {
      if (engineState().gradientDepth > 0) throw new BiflowError(op.refusal);
      const { r, host } = hostRunner();
      let grads: tf.Tensor[];
      try {
        grads = op.backward(r, host, dy as tf.Tensor[], saved, attrs as unknown as A).map((g) => r.keep(g));
      } finally {
        r.free();
      }
      return Object.fromEntries(op.inputs.map((n, i) => [n, () => grads[i]!]));
    },
  });
}
