/**
 * The Arenstorf orbit: a satellite in the Earth–Moon system whose periodic orbit is a classic
 * hard nonstiff test (Hairer, Nørsett, Wanner, Solving ODEs I, §II.0). After one period the exact
 * solution returns to its start, so the distance from y0 is the true global error.
 *
 *   npm run demo:orbit      (tsx examples/orbit.ts)
 */
import { odeint, ARENSTORF, METHOD_NAMES } from '../src/index.js';
import type { MethodName } from '../src/index.js';

// The problem (its equations are in src/ode/problems.ts): y0, the period T, and f(t, y, dy),
// which writes the derivative into dy so the solve allocates nothing per step.
const { y0, t1: PERIOD, f: arenstorf } = ARENSTORF;

export interface OrbitRow {
  method: MethodName;
  rtol: number;
  error: number;
  nfe: number;
  steps: number;
  rejected: number;
  ms: number;
}

/** Solves one period with each adaptive method at each tolerance. */
export function orbitTable(methods: MethodName[] = ['bosh3', 'dopri5', 'tsit5', 'dopri8'], tols = [1e-4, 1e-6, 1e-8, 1e-10]): OrbitRow[] {
  const rows: OrbitRow[] = [];
  for (const method of methods) {
    for (const rtol of tols) {
      const start = performance.now();
      const sol = odeint(arenstorf, y0, [0, PERIOD], { method, rtol, atol: rtol });
      const ms = performance.now() - start;
      const y = sol.ys[1]!;
      rows.push({
        method, rtol, ms,
        error: Math.hypot(y[0]! - y0[0]!, y[1]! - y0[1]!),
        nfe: sol.stats.nfe, steps: sol.stats.nAccepted, rejected: sol.stats.nRejected,
      });
    }
  }
  return rows;
}

function main(): void {
  console.log('Arenstorf orbit, one period (T = 17.0652…): position error |r(T) − r(0)| and cost\n');
  console.log('method   rtol=atol   error       NFE    steps  rejected   ms');
  for (const r of orbitTable()) {
    console.log(
      `${r.method.padEnd(8)} ${r.rtol.toExponential(0).padEnd(11)} ${r.error.toExponential(2).padEnd(11)} ` +
        `${String(r.nfe).padStart(5)}  ${String(r.steps).padStart(5)}  ${String(r.rejected).padStart(8)}  ${r.ms.toFixed(2).padStart(6)}`,
    );
  }
  // A dense trajectory, as one would plot it: 9 points along the orbit.
  const ts = Array.from({ length: 9 }, (_, i) => (i * PERIOD) / 8);
  const sol = odeint(arenstorf, y0, ts, { method: 'tsit5', rtol: 1e-9, atol: 1e-9 });
  console.log('\nThe orbit at nine times (tsit5, rtol 1e-9):');
  sol.ts.forEach((t, i) => console.log(`  t = ${t.toFixed(3).padStart(6)}   x = ${sol.ys[i]![0]!.toFixed(6).padStart(10)}   y = ${sol.ys[i]![1]!.toFixed(6).padStart(10)}`));
  console.log(`\nmethods available: ${METHOD_NAMES.join(', ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
