import { ButcherTableau } from '../tableau.js';

/** Bogacki–Shampine 3(2): four stages with FSAL (three evaluations per step); cubic Hermite dense output. */
export const bosh3 = new ButcherTableau({
  name: 'bosh3',
  order: 3,
  c: [0, 1 / 2, 3 / 4, 1],
  a: [[], [1 / 2], [0, 3 / 4], [2 / 9, 1 / 3, 4 / 9]],
  b: [2 / 9, 1 / 3, 4 / 9, 0],
  bHat: [7 / 24, 1 / 4, 1 / 3, 1 / 8],
  reference: 'P. Bogacki, L. F. Shampine, "A 3(2) pair of Runge–Kutta formulas", Appl. Math. Lett. 2 (1989).',
});
