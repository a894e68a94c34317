import { ButcherTableau } from '../tableau.js';

const b = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];

// Shampine's continuous extension (as in Hairer's DOPRI5): with Δ = y₁ − y₀, k₇ = f₁ and
// d the weights below, y(θ) − y₀ = θΔ + θ(1−θ)(hk₁ − Δ) + θ²(1−θ)(2Δ − hk₁ − hk₇) + θ²(1−θ)² hΣdK.
// Expanded in powers of θ (rows p = 1…4), in units of h over K = [k₁ … k₇, f₁]:
const d = [
  -12715105075 / 11282082432, 0, 87487479700 / 32700410799, -10690763975 / 1880347072,
  701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423,
];
const row = (wb: number, w1: number, w7: number, wd: number): number[] => [
  ...b.map((bi, i) => wb * bi + wd * d[i]! + (i === 0 ? w1 : 0) + (i === 6 ? w7 : 0)),
  0,
];

/**
 * Dormand–Prince 5(4): seven stages with FSAL (six evaluations per step), 4th-order dense output.
 * The default adaptive method, as in torchdiffeq, diffrax and MATLAB's ode45.
 */
export const dopri5 = new ButcherTableau({
  name: 'dopri5',
  order: 5,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    b.slice(0, 6),
  ],
  b,
  bHat: [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40],
  dense: [row(0, 1, 0, 0), row(3, -2, -1, 1), row(-2, 1, 1, -2), row(0, 0, 0, 1)],
  denseOrder: 4,
  reference:
    'J. R. Dormand, P. J. Prince, "A family of embedded Runge–Kutta formulae", J. Comput. Appl. Math. 6 (1980); ' +
    'L. F. Shampine, "Some practical Runge–Kutta formulas", Math. Comp. 46 (1986) for the dense output.',
});
