import type { ButcherTableau } from '../tableau.js';
import { bosh3 } from './bosh3.js';
import { dopri5 } from './dopri5.js';
import { dopri8 } from './dopri8.js';
import { euler } from './euler.js';
import { heun } from './heun.js';
import { kvaerno5 } from './kvaerno5.js';
import { midpoint } from './midpoint.js';
import { rk4 } from './rk4.js';
import { rodas5 } from './rodas5.js';
import { rodas5p } from './rodas5p.js';
import { tsit5 } from './tsit5.js';

export { bosh3, dopri5, dopri8, euler, heun, kvaerno5, midpoint, rk4, rodas5, rodas5p, tsit5 };

/** Every explicit Runge–Kutta method by name, fixed-step first, then adaptive by order. */
export const TABLEAUX = { euler, midpoint, heun, rk4, bosh3, dopri5, tsit5, dopri8 } as const;

/** The name of an explicit Runge–Kutta method: `euler`, `midpoint`, `heun`, `rk4`, `bosh3`, `dopri5`, `tsit5`, `dopri8`. */
export type RKMethodName = keyof typeof TABLEAUX;
/** Every {@link RKMethodName}. */
export const RK_METHOD_NAMES = Object.keys(TABLEAUX) as RKMethodName[];

/** The stiff methods: Rosenbrock `rodas5` and `rodas5p`, ESDIRK `kvaerno5`, and `auto` (tsit5, switching to rodas5); all on float64 and tensor states. */
export const STIFF_METHOD_NAMES = ['rodas5', 'rodas5p', 'kvaerno5', 'auto'] as const;
/** The name of a stiff method: `rodas5`, `rodas5p`, `kvaerno5`, `auto`. */
export type StiffMethodName = (typeof STIFF_METHOD_NAMES)[number];

/** Any built-in method: explicit Runge–Kutta or stiff. */
export type MethodName = RKMethodName | StiffMethodName;
/** Every {@link MethodName}: the explicit ones, then the stiff ones. */
export const METHOD_NAMES: MethodName[] = [...RK_METHOD_NAMES, ...STIFF_METHOD_NAMES];

/** Whether `name` is one of the stiff methods. */
export const isStiffMethod = (name: string): name is StiffMethodName => (STIFF_METHOD_NAMES as readonly string[]).includes(name);

/**
 * Whether the method has an error estimate (so it runs under a PIDController); every stiff method does.
 *
 * @example
 * ```ts
 * import { isAdaptiveMethod } from 'biflow';
 * isAdaptiveMethod('dopri5');   // true
 * isAdaptiveMethod('rk4');      // false: fixed steps (stepSize, or the requested times)
 * ```
 */
export function isAdaptiveMethod(name: MethodName): boolean {
  return isStiffMethod(name) || TABLEAUX[name].adaptive;
}

/** What `biflow methods` lists for one method. */
export interface MethodInfo {
  name: MethodName;
  /** `explicit` Runge–Kutta, `rosenbrock`, `esdirk`, or `auto` (tsit5, then rodas5 once stiff). */
  kind: 'explicit' | 'rosenbrock' | 'esdirk' | 'auto';
  order: number;
  embeddedOrder: number | null;
  /** Stages per step (null for auto, which runs tsit5's 7 or rodas5's 8). */
  stages: number | null;
  fsal: boolean;
  denseOrder: number;
  adaptive: boolean;
  /** Float64 states only, for now. */
  stiff: boolean;
}

/**
 * The properties of a built-in method, read from its tableau (what `biflow methods` prints).
 *
 * @example
 * ```ts
 * import { methodInfo } from 'biflow';
 * const { order, embeddedOrder, stages, kind } = methodInfo('rodas5');   // 5, 4, 8, 'rosenbrock'
 * ```
 */
export function methodInfo(name: MethodName): MethodInfo {
  if (name === 'auto') return { name, kind: 'auto', order: 5, embeddedOrder: 4, stages: null, fsal: false, denseOrder: 4, adaptive: true, stiff: true };
  if (name === 'rodas5' || name === 'rodas5p') {
    const r = name === 'rodas5' ? rodas5 : rodas5p;
    return { name, kind: 'rosenbrock', order: r.order, embeddedOrder: r.embeddedOrder, stages: r.stages, fsal: r.interpolant.fsal, denseOrder: r.denseOrder, adaptive: true, stiff: true };
  }
  if (name === 'kvaerno5') return { name, kind: 'esdirk', order: kvaerno5.order, embeddedOrder: kvaerno5.embeddedOrder, stages: kvaerno5.stages, fsal: kvaerno5.interpolant.fsal, denseOrder: kvaerno5.denseOrder, adaptive: true, stiff: true };
  const t = TABLEAUX[name];
  return { name, kind: 'explicit', order: t.order, embeddedOrder: t.embeddedOrder ?? null, stages: t.stages, fsal: t.fsal, denseOrder: t.denseOrder, adaptive: t.adaptive, stiff: false };
}

export type { ButcherTableau };
