import type { ButcherTableau } from '../tableau.js';
import { bosh3 } from './bosh3.js';
import { dopri5 } from './dopri5.js';
import { dopri8 } from './dopri8.js';
import { euler } from './euler.js';
import { heun } from './heun.js';
import { midpoint } from './midpoint.js';
import { rk4 } from './rk4.js';
import { tsit5 } from './tsit5.js';

export { bosh3, dopri5, dopri8, euler, heun, midpoint, rk4, tsit5 };

/** Every built-in method by name, fixed-step first, then adaptive by order. */
export const TABLEAUX = { euler, midpoint, heun, rk4, bosh3, dopri5, tsit5, dopri8 } as const;

/** The name of a Runge–Kutta method: `euler`, `midpoint`, `heun`, `rk4`, `bosh3`, `dopri5`, `tsit5`, `dopri8`. */
export type MethodName = keyof typeof TABLEAUX;
/** Every {@link MethodName}. */
export const METHOD_NAMES = Object.keys(TABLEAUX) as MethodName[];
export type { ButcherTableau };
