import { ButcherTableau } from '../tableau.js';

/** Forward Euler: one stage, order 1. Fixed step only. */
export const euler = new ButcherTableau({
  name: 'euler',
  order: 1,
  c: [0],
  a: [[]],
  b: [1],
  reference: 'L. Euler, Institutiones calculi integralis (1768).',
});
