"""Stiff work-precision reference: scipy's Radau, BDF and LSODA on the problems of bench/stiff.ts.

Usage:
  python3 bench/reference/stiff_scipy.py --reference        # reference solutions (Radau, rtol 1e-13) as JSON
  python3 bench/reference/stiff_scipy.py --rtols 1e-4,1e-6   # error, f-evaluations and time per method as JSON

The problems, tolerances and check points mirror bench/stiff.ts (same definitions as
src/ode/stiff-problems.ts). f-evaluations are counted by wrapping the right-hand side, so the
finite-difference Jacobian columns scipy computes (outside its own `nfev`) are included.
"""
import json
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp


def robertson(t, y):
    a = 0.04 * y[0]
    b = 1e4 * y[1] * y[2]
    c = 3e7 * y[1] * y[1]
    return np.array([-a + b, a - b - c, c])


def hires(t, y):
    r = 280 * y[5] * y[7]
    return np.array([
        -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
        1.71 * y[0] - 8.75 * y[1],
        -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
        8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
        -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
        -r + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
        r - 1.81 * y[6],
        -r + 1.81 * y[6],
    ])


def orego(t, y):
    return np.array([
        77.27 * (y[1] + y[0] * (1 - 8.375e-6 * y[0] - y[1])),
        (y[2] - (1 + y[0]) * y[1]) / 77.27,
        0.161 * (y[0] - y[2]),
    ])


def vdp1000(t, y):
    return np.array([y[1], 1000 * (1 - y[0] * y[0]) * y[1] - y[0]])


# name: (f, y0, check points, atol as a multiple of rtol)
PROBLEMS = {
    'Robertson': (robertson, [1.0, 0.0, 0.0], [0.4, 4, 40, 400, 4000, 40000, 100000], 1e-6),
    'HIRES': (hires, [1, 0, 0, 0, 0, 0, 0, 0.0057], [5, 10, 20, 50, 100, 200, 321.8122], 1e-3),
    'OREGO': (orego, [1.0, 2.0, 3.0], [30, 60, 90, 120, 180, 240, 300, 360], 1.0),
    'Van der Pol (mu = 1000)': (vdp1000, [2.0, 0.0], [250, 500, 1000, 1500, 2000, 2500, 3000], 1.0),
}


def run(name, method, rtol, atol):
    f, y0, ts, _ = PROBLEMS[name]
    count = [0]

    def counted(t, y):
        count[0] += 1
        return f(t, y)

    start = time.perf_counter()
    sol = solve_ivp(counted, (0, ts[-1]), y0, method=method, rtol=rtol, atol=atol, t_eval=ts)
    seconds = time.perf_counter() - start
    return sol, count[0], seconds


def main():
    args = sys.argv[1:]
    if '--reference' in args:
        out = {}
        for name, (_, _, ts, scale) in PROBLEMS.items():
            sol, nfe, _ = run(name, 'Radau', 1e-13, 1e-13 * scale * 1e-2)
            out[name] = {'ts': ts, 'ys': sol.y.T.tolist(), 'method': 'scipy Radau', 'rtol': 1e-13, 'nfe': nfe, 'success': bool(sol.success)}
        print(json.dumps(out))
        return
    rtols = [1e-4, 1e-6, 1e-8]
    for a in args:
        if a.startswith('--rtols'):
            rtols = [float(x) for x in a.split('=', 1)[1].split(',')]
    reference = json.loads(sys.stdin.read()) if '--stdin-reference' in args else None
    rows = []
    for name, (_, _, ts, scale) in PROBLEMS.items():
        for rtol in rtols:
            atol = rtol * scale
            for method in ['Radau', 'BDF', 'LSODA']:
                # Median of three timings; the solution and counts are deterministic.
                times = []
                for _ in range(3):
                    sol, nfe, seconds = run(name, method, rtol, atol)
                    times.append(seconds)
                times.sort()
                row = {'problem': name, 'method': method, 'rtol': rtol, 'atol': atol, 'nfe': nfe, 'ms': times[1] * 1e3, 'success': bool(sol.success)}
                if reference is not None and sol.success:
                    ref = np.array(reference[name]['ys'])
                    row['error'] = float(np.max(np.abs(sol.y.T - ref) / (atol + rtol * np.abs(ref))))
                rows.append(row)
    print(json.dumps(rows))


if __name__ == '__main__':
    main()
