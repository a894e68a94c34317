import { DirkTableau } from '../dirk-tableau.js';

const g = 0.26;
const row6 = [0.13855640231268224, 0, -0.04245337201752043, 0.02446657898003141, 0.61943039072480676];
const row7 = [0.13659751177640291, 0, -0.05496908796538376, -0.04118626728321046, 0.62993304899016403, 0.06962479448202728];

/**
 * Kværnø's ESDIRK 5(4): 7 stages, explicit first stage, γ = 0.26, L-stable and stiffly accurate;
 * the embedded order-4 solution is stage 6 (also at c = 1). Stage predictors as in diffrax.
 */
export const kvaerno5 = new DirkTableau({
  name: 'kvaerno5',
  order: 5,
  embeddedOrder: 4,
  gamma: g,
  c: [0, 0.52, 1.230333209967908, 0.8957659843500759, 0.43639360985864756, 1, 1],
  a: [
    [0],
    [g, g],
    [0.13, 0.84033320996790809, g],
    [0.22371961478320505, 0.47675532319799699, -0.06470895363112615, g],
    [0.16648564323248321, 0.1045001884159172, 0.03631482272098715, -0.13090704451073998, g],
    [...row6, g],
    [...row7, g],
  ],
  bHat: [...row6, g, 0],
  predictor: [
    [],
    [1],
    [-1.366025403784441, 2.3660254037844357],
    [-0.19650552613122207, 0.8113579546496623, 0.38514757148155954],
    [0.10375304369958693, 0.937994698066431, -0.04174774176601781, 0],
    [-0.17281112873898072, 0.6235784481025847, 0.5492326806363959, 0, 0],
    [...row6, g],
  ],
  checkTol: 1e-11,
  reference: 'A. Kværnø, "Singly diagonally implicit Runge–Kutta methods with an explicit first stage", BIT Numer. Math. 44 (2004) 489–502 (coefficients and predictors as tabulated in diffrax\'s Kvaerno5).',
});
