import { describe, expect, it } from 'vitest';
import {
  ConstantStepSize, HIRES, InvalidArgumentError, createFlow, Kvaerno5, PIDController, Rodas5, ROBERTSON, SingularMatrixError, StepSizeUnderflowError,
  TensorSpace, odeint, solve, tf,
} from '../../src/index.js';

describe('stiff methods: Jacobians and work counters', () => {
  it("rodas5 counts every evaluation: k₀ per step, 7 stages per attempt, ∂f/∂t and 2n central-difference columns per Jacobian", () => {
    const n = HIRES.y0.length;
    for (const jac of [undefined, HIRES.jac]) {
      const s = odeint(HIRES.f, HIRES.y0, [0, HIRES.t1], { method: 'rodas5', rtol: 1e-6, atol: 1e-9, jac }).stats;
      // One Jacobian per accepted step's start (a rejected step retries from the same point) and one LU per attempt.
      expect(s.njev).toBe(s.nAccepted);
      expect(s.nlu).toBe(s.nSteps);
      // + 1: Hairer's initial-step estimate.
      expect(s.nfe).toBe(s.nAccepted + 1 + 7 * s.nSteps + s.njev! * (1 + (jac ? 0 : 2 * n)));
    }
  });

  it('kvaerno5 reuses its Jacobian and LU across steps (fewer than one per step)', () => {
    const s = odeint(HIRES.f, HIRES.y0, [0, HIRES.t1], { method: 'kvaerno5', rtol: 1e-6, atol: 1e-9 }).stats;
    expect(s.njev!).toBeLessThan(0.75 * s.nAccepted);
    expect(s.nlu!).toBeLessThan(s.nSteps);
  });

  it("gives the same solution with the user's Jacobian as with finite differences, for fewer evaluations", () => {
    for (const method of ['rodas5', 'kvaerno5'] as const) {
      const fd = odeint(ROBERTSON.f, ROBERTSON.y0, [0, 1e3], { method, rtol: 1e-8, atol: 1e-14 });
      const exact = odeint(ROBERTSON.f, ROBERTSON.y0, [0, 1e3], { method, rtol: 1e-8, atol: 1e-14, jac: ROBERTSON.jac });
      for (let i = 0; i < 3; i++) expect(Math.abs(fd.ys[1]![i]! - exact.ys[1]![i]!)).toBeLessThan(1e-8 * Math.abs(exact.ys[1]![i]!) + 1e-13);
      expect(exact.stats.nfe).toBeLessThan(fd.stats.nfe);
    }
  });

  it('accepts a Jacobian returned as n rows instead of filled in', () => {
    const jac = (_t: number, y: Float64Array): number[][] => [[-0.04, 1e4 * y[2]!, 1e4 * y[1]!], [0.04, -1e4 * y[2]! - 6e7 * y[1]!, -1e4 * y[1]!], [0, 6e7 * y[1]!, 0]];
    const a = odeint(ROBERTSON.f, ROBERTSON.y0, [0, 40], { method: 'rodas5', rtol: 1e-6, atol: 1e-12, jac });
    const b = odeint(ROBERTSON.f, ROBERTSON.y0, [0, 40], { method: 'rodas5', rtol: 1e-6, atol: 1e-12, jac: ROBERTSON.jac });
    expect(Array.from(a.ys[1]!)).toEqual(Array.from(b.ys[1]!));
  });
});

describe('stiff methods: bad input and failures', () => {
  const f = ROBERTSON.f;
  const y0 = ROBERTSON.y0;

  it.each(['rodas5', 'kvaerno5'] as const)('%s: a jac of the wrong size is an InvalidArgumentError naming jac, the size and the time', (method) => {
    expect(() => odeint(f, y0, [0, 1], { method, jac: () => [1, 2, 3, 4] })).toThrow(InvalidArgumentError);
    expect(() => odeint(f, y0, [0, 1], { method, jac: () => [1, 2, 3, 4] })).toThrow(/odeint: jac must give the 3×3 Jacobian \(9 entries, or 3 rows of 3\) at t = 0/);
    expect(() => odeint(f, y0, [0, 1], { method, jac: () => [[1, 2, 3], [4, 5, 6], [7, 8]] })).toThrow(/jac must give the 3×3 Jacobian/);
  });

  it.each(['rodas5', 'kvaerno5'] as const)('%s: a non-finite jac entry is an InvalidArgumentError naming the entry and the time', (method) => {
    const jac = (_t: number, _y: Float64Array, J: Float64Array): void => void (J[5] = NaN);
    expect(() => odeint(f, y0, [0, 1], { method, jac })).toThrow(/odeint: jac returned a non-finite entry J\[1\]\[2\] = NaN at t = 0/);
  });

  it('rejects a jac that is not a function, and a jac given to an explicit method, before any work', () => {
    let calls = 0;
    const counted = (t: number, y: Float64Array, dy: Float64Array): void => {
      calls++;
      f(t, y, dy);
    };
    expect(() => odeint(counted, y0, [0, 1], { method: 'rodas5', jac: 'exact' as never })).toThrow(/odeint: jac must be a function \(t, y, J\) => void/);
    expect(() => odeint(counted, y0, [0, 1], { method: 'dopri5', jac: ROBERTSON.jac })).toThrow(/odeint: jac is used by the stiff methods only .* method is 'dopri5'/);
    expect(() => new Rodas5({ jac: 3 as never })).toThrow(InvalidArgumentError);
    expect(calls).toBe(0);
  });

  it('auto refuses a tensor state rodas5 cannot take, auto refuses backsolve on tensor states and rodas5/kvaerno5 its unsupported combinations, with typed errors before any work, leaking nothing', () => {
    const before = tf.memory().numTensors;
    const y = tf.tensor2d([[1, 0, 0]]);
    let calls = 0;
    const field = (_t: number, s: tf.Tensor): tf.Tensor => {
      calls++;
      return tf.neg(s);
    };
    // auto checks rodas5's state rules before its tsit5 part starts.
    expect(() => odeint(field as never, [y, y], [0, 1], { method: 'auto' })).toThrow(/odeint: y0 must be one non-empty tensor of shape \[D\] or \[B, D\] .* for the stiff method 'auto', got "a tuple of 2 tensors"/);
    expect(() => odeint(field, y, [0, 1], { method: 'auto', stepSize: 0.1 })).toThrow(/odeint: stepSize cannot be used with method 'auto'/);
    expect(() => odeint(field, y, [0, 1], { method: 'auto', gradient: 'backsolve', params: [] })).toThrow(/odeint: gradient is not available with method 'auto' on tensor states yet, got "backsolve"/);
    for (const method of ['rodas5', 'kvaerno5'] as const) {
      expect(() => odeint(field, y, [0, 1], { method, gradient: 'backsolve', params: [], dense: true })).toThrow(new RegExp(`odeint: gradient does not combine with dense output, events or a fixed stepSize for the stiff method '${method}' yet, got "backsolve"`));
      expect(() => odeint(field, y, [0, 1], { method, gradient: 'backsolve', params: 'W' as never })).toThrow(/odeint: params must be an array of tf.Tensor\/tf.Variable/);
    }
    for (const method of ['rodas5', 'kvaerno5', 'auto'] as const) {
      expect(() => odeint(field, y, [0, 1], { method, jac: () => undefined })).toThrow(/odeint: jac is for float64 states .* on a tf.Tensor state/);
    }
    expect(calls).toBe(0);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['rodas5', 'kvaerno5', 'auto'] as const)('a CNF configured with the stiff method %s is refused when the flow is built, leaking nothing', (method) => {
    const before = tf.memory().numTensors;
    expect(() => createFlow({ type: 'ffjord', dim: 2, hidden: [8], cnf: { method, rtol: 1e-4, atol: 1e-4 } })).toThrow(/createFlow: cnf\.method is a stiff method, got "[a-z0-9]+"; a CNF cannot use one: the stiff methods on tensor states take one \[B, D\] tensor/);
    expect(() => createFlow({ type: 'biflow', dim: 2, cnf: { method } })).toThrow(InvalidArgumentError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('solve() refuses, before evaluating f, a tensor state the stiff step cannot take (rank 3, a tuple of two, empty), naming y0', () => {
    const before = tf.memory().numTensors;
    let calls = 0;
    const field = (_t: number, s: tf.Tensor): tf.Tensor => {
      calls++;
      return tf.neg(s);
    };
    const controller = new PIDController({ rtol: 1e-6, atol: 1e-6 });
    for (const solver of [new Kvaerno5(), new Rodas5()]) {
      const cube = tf.ones([2, 2, 2]);
      expect(() => solve({ f: field, y0: cube, t0: 0, t1: 1, solver, controller, space: new TensorSpace() })).toThrow(/solve: y0 must be one non-empty tensor of shape \[D\] or \[B, D\] .*got "a tensor of shape \[2, 2, 2\]"/);
      const pair = [tf.ones([2, 2]), tf.ones([2, 1])];
      expect(() => solve({ f: (_t: number, s: tf.Tensor[]) => s.map((v) => tf.neg(v)), y0: pair, t0: 0, t1: 1, solver, controller })).toThrow(/solve: y0 must be one non-empty tensor .*got "a tuple of 2 tensors"/);
      const empty = tf.zeros([0]);
      expect(() => solve({ f: field, y0: empty, t0: 0, t1: 1, solver, controller })).toThrow(InvalidArgumentError);
      tf.dispose([cube, ...pair, empty]);
    }
    expect(calls).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([['rodas5', () => new Rodas5()], ['kvaerno5', () => new Kvaerno5()]] as const)('%s: an iteration matrix that stays singular raises SingularMatrixError with the time', (_m, make) => {
    // f is finite at the states the solver reaches but NaN at every perturbed one, so each
    // finite-difference Jacobian is NaN and I − hγJ cannot be factorised however short the step.
    const field = (_t: number, y: Float64Array): number[] => [Number.isInteger(y[0]! * 8) ? -y[0]! : NaN];
    let err: unknown;
    try {
      solve({ f: field, y0: [1], t0: 2, t1: 3, solver: make(), controller: new PIDController({ rtol: 1e-6, atol: 1e-6, firstStep: 0.5 }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SingularMatrixError);
    expect((err as SingularMatrixError).t).toBe(2);
    expect((err as Error).message).toMatch(/solve: the iteration matrix I − hγJ stayed singular at t = 2 after 8 step reductions/);
  });

  it('with a fixed step, a Newton failure or a singular matrix stops the solve with a typed error instead of accepting the step', () => {
    const field = (_t: number, y: Float64Array): number[] => [-1e4 * y[0]! ** 3];
    const wrong = (_t: number, y: Float64Array, J: Float64Array): void => void (J[0] = 3e4 * y[0]! ** 2);
    expect(() => solve({ f: field, y0: [1], t0: 0, t1: 1, solver: new Kvaerno5({ jac: wrong }), controller: new ConstantStepSize({ dt: 0.1 }) }))
      .toThrow(/solve: dt is too large for kvaerno5's Newton iteration at t = 0 \(stage 1 did not converge in 10 iterations\)/);
    const nan = (_t: number, y: Float64Array): number[] => [Number.isInteger(y[0]! * 8) ? -y[0]! : NaN];
    expect(() => solve({ f: nan, y0: [1], t0: 0, t1: 1, solver: new Rodas5(), controller: new ConstantStepSize({ dt: 0.5 }) }))
      .toThrow(/solve: the iteration matrix I − hγJ is singular at t = 0 for the fixed step h = 0.5/);
  });

  it('kvaerno5: Newton divergence (a wrong-signed Jacobian) shrinks the step and, at minStep, raises StepSizeUnderflowError naming the time', () => {
    const field = (_t: number, y: Float64Array): number[] => [-1e4 * y[0]! ** 3];
    const wrong = (_t: number, y: Float64Array, J: Float64Array): void => void (J[0] = 3e4 * y[0]! ** 2);
    let err: unknown;
    try {
      solve({ f: field, y0: [1], t0: 0, t1: 1, solver: new Kvaerno5({ jac: wrong }), controller: new PIDController({ rtol: 1e-6, atol: 1e-9, firstStep: 0.1, minStep: 0.01 }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StepSizeUnderflowError);
    expect((err as StepSizeUnderflowError).t).toBe(0);
    // With the right Jacobian the same problem solves.
    const ok = solve({ f: field, y0: [1], t0: 0, t1: 1, solver: new Kvaerno5(), controller: new PIDController({ rtol: 1e-6, atol: 1e-9 }) });
    expect(ok.ys[0]![0]!).toBeCloseTo(1 / Math.sqrt(1 + 2e4), 6);
  });
});
