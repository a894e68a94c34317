/**
 * A hand-specialised Dormand–Prince 5(4) loop: the tableau written out as constants, every stage
 * an explicit loop, integral step control and Hairer's initial step — the same algorithm as
 * biflow's generic `solve` with `Dopri5` + `PIDController`, with no abstraction at all.
 * It is the floor for the solver-overhead benchmark and a cross-check in the tests.
 */
export type Rhs = (t: number, y: Float64Array, dy: Float64Array) => void;

export interface LoopResult {
  y: Float64Array;
  nfe: number;
  nAccepted: number;
  nRejected: number;
}

export function dopri5Loop(f: Rhs, y0: Float64Array, t0: number, t1: number, rtol: number, atol: number, maxSteps = 1e6): LoopResult {
  const n = y0.length;
  const a21 = 1 / 5;
  const a31 = 3 / 40, a32 = 9 / 40;
  const a41 = 44 / 45, a42 = -56 / 15, a43 = 32 / 9;
  const a51 = 19372 / 6561, a52 = -25360 / 2187, a53 = 64448 / 6561, a54 = -212 / 729;
  const a61 = 9017 / 3168, a62 = -355 / 33, a63 = 46732 / 5247, a64 = 49 / 176, a65 = -5103 / 18656;
  const a71 = 35 / 384, a73 = 500 / 1113, a74 = 125 / 192, a75 = -2187 / 6784, a76 = 11 / 84;
  const e1 = 35 / 384 - 5179 / 57600, e3 = 500 / 1113 - 7571 / 16695, e4 = 125 / 192 - 393 / 640;
  const e5 = -2187 / 6784 + 92097 / 339200, e6 = 11 / 84 - 187 / 2100, e7 = -1 / 40;
  let y = Float64Array.from(y0);
  let y1 = new Float64Array(n);
  const yt = new Float64Array(n);
  let k1 = new Float64Array(n);
  const k2 = new Float64Array(n), k3 = new Float64Array(n), k4 = new Float64Array(n);
  const k5 = new Float64Array(n), k6 = new Float64Array(n);
  let k7 = new Float64Array(n);
  const dir = t1 >= t0 ? 1 : -1;
  let nfe = 0, nAccepted = 0, nRejected = 0;
  f(t0, y, k1);
  nfe++;
  // Hairer's initial step with RMS norms scaled by atol + rtol·|y0|.
  let d0 = 0, d1 = 0;
  for (let i = 0; i < n; i++) {
    const sk = atol + rtol * Math.abs(y[i]!);
    d0 += (y[i]! / sk) ** 2;
    d1 += (k1[i]! / sk) ** 2;
  }
  d0 = Math.sqrt(d0 / n);
  d1 = Math.sqrt(d1 / n);
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  for (let i = 0; i < n; i++) yt[i] = y[i]! + dir * h0 * k1[i]!;
  f(t0 + dir * h0, yt, k2);
  nfe++;
  let d2 = 0;
  for (let i = 0; i < n; i++) {
    const sk = atol + rtol * Math.abs(y[i]!);
    d2 += ((k2[i]! - k1[i]!) / sk) ** 2;
  }
  d2 = Math.sqrt(d2 / n) / h0;
  const dm = Math.max(d1, d2);
  const hh = dm <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / dm) ** 0.2;
  let h = dir * Math.min(100 * h0, hh, Math.abs(t1 - t0));
  let t = t0;
  let lastRejected = false;
  while ((t1 - t) * dir > 0 && nAccepted + nRejected < maxSteps) {
    if ((t + 1.01 * h - t1) * dir > 0) h = t1 - t;
    for (let i = 0; i < n; i++) yt[i] = y[i]! + h * a21 * k1[i]!;
    f(t + h / 5, yt, k2);
    for (let i = 0; i < n; i++) yt[i] = y[i]! + h * (a31 * k1[i]! + a32 * k2[i]!);
    f(t + (3 * h) / 10, yt, k3);
    for (let i = 0; i < n; i++) yt[i] = y[i]! + h * (a41 * k1[i]! + a42 * k2[i]! + a43 * k3[i]!);
    f(t + (4 * h) / 5, yt, k4);
    for (let i = 0; i < n; i++) yt[i] = y[i]! + h * (a51 * k1[i]! + a52 * k2[i]! + a53 * k3[i]! + a54 * k4[i]!);
    f(t + (8 * h) / 9, yt, k5);
    for (let i = 0; i < n; i++) yt[i] = y[i]! + h * (a61 * k1[i]! + a62 * k2[i]! + a63 * k3[i]! + a64 * k4[i]! + a65 * k5[i]!);
    const tn = h === t1 - t ? t1 : t + h;
    f(tn, yt, k6);
    for (let i = 0; i < n; i++) y1[i] = y[i]! + h * (a71 * k1[i]! + a73 * k3[i]! + a74 * k4[i]! + a75 * k5[i]! + a76 * k6[i]!);
    f(tn, y1, k7);
    nfe += 6;
    let err = 0;
    for (let i = 0; i < n; i++) {
      const sk = atol + rtol * Math.max(Math.abs(y[i]!), Math.abs(y1[i]!));
      const e = (h * (e1 * k1[i]! + e3 * k3[i]! + e4 * k4[i]! + e5 * k5[i]! + e6 * k6[i]! + e7 * k7[i]!)) / sk;
      err += e * e;
    }
    err = Math.sqrt(err / n);
    if (err <= 1) {
      nAccepted++;
      let fac = err === 0 ? 10 : 0.9 * err ** -0.2;
      fac = Math.min(Math.max(fac, 0.2), lastRejected ? 1 : 10);
      lastRejected = false;
      const ty = y; y = y1; y1 = ty;
      const tk = k1; k1 = k7; k7 = tk;
      t = tn;
      h *= fac;
    } else {
      nRejected++;
      lastRejected = true;
      h *= Math.max(0.2, Math.min(1, 0.9 * err ** -0.2));
    }
  }
  return { y, nfe, nAccepted, nRejected };
}
