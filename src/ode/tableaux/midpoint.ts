import { ButcherTableau } from '../tableau.js';

/** Explicit midpoint rule: two stages, order 2. Fixed step only. */
export const midpoint = new ButcherTableau({
  name: 'midpoint',
  order: 2,
  c: [0, 1 / 2],
  a: [[], [1 / 2]],
  b: [0, 1],
  reference: 'E. Hairer, S. P. Nørsett, G. Wanner, Solving ODEs I, §II.1.',
});
