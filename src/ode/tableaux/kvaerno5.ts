import { DirkTableau } from '../dirk-tableau.js';

const g = 0.26;
const row6 = [0.13855640231268224, 0, -0.04245337201752043, 0.02446657898003141, 0.61943039072480676];
const row7 = [0.13659751177640291, 0, -0.05496908796538376, -0.04118626728321046, 0.62993304899016403, 0.06962479448202728];

/**
 * Kværnø's ESDIRK 5(4): 7 stages, explicit first stage, γ = 0.26, L-stable and stiffly accurate;
 * the embedded order-4 solution is stage 6 (also at c = 1). Stage predictors as in diffrax; dense
 * output: an order-4 continuous extension (below).
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
  // An order-4 continuous extension of our own: 8 conditions per power of θ on 7 weights, yet
  // solvable, since the order conditions up to order 4 have rank 5 on Kvaerno5's stages (order 5
  // is not: that system is inconsistent, least-squares residual 0.33). Of the solutions of degree 5
  // with b′(0) = e₀ (slope f(t₀, y₀) at the start) and b(1) = b, this one (least squares, numpy)
  // comes closest to the stiff-limit conditions b(θ)ᵀÂ⁻¹uₘ = θᵐ, m = 3, 4 (Â = A with first row
  // e₀, uₘ = (0, c₁ᵐ, …, c₆ᵐ)): exactness, as hλ → −∞, on a slow manifold that is a polynomial of
  // degree m. Kvaerno5's stage order is 2, so no interpolant from its stages meets those exactly
  // together with order 4. Measured against the cubic Hermite interpolant at the benchmark's check
  // points (README, "Stiff problems"): err/tol on OREGO 12–48 → 7.9–9.3, HIRES 4.7–84 → 1.3–29,
  // Robertson 8–365 → 3.9–124, Van der Pol 1.2–7.5 → 0.9–3.0. Validated at load with the rest.
  dense: [
    [1, 0, 0, 0, 0, 0, 0],
    [-2.1113145789275425, 0, 0.5917763244324262, -1.9829666686025955, 3.4675137334680293, 0.3462034531974846, -0.3112122635677931],
    [1.759432303818761, 0, -1.4646814950799556, 3.4798801933456405, -4.36389477428982, -0.2724707213107862, 0.8617344935161296],
    [-0.5112219070239489, 0, 0.8198420157752718, -1.528101967461374, 1.5247147115552888, 0.024882968398246108, -0.3301158212434613],
    [-0.00029830609086655205, 0, -0.0019059330931251017, -0.009997824564883143, 0.001599378256665833, -0.02899090580291563, 0.03959359129512658],
  ],
  denseOrder: 4,
  checkTol: 1e-11,
  reference: 'A. Kværnø, "Singly diagonally implicit Runge–Kutta methods with an explicit first stage", BIT Numer. Math. 44 (2004) 489–502 (coefficients and predictors as tabulated in diffrax\'s Kvaerno5).',
});
