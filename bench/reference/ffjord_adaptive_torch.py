#!/usr/bin/env python3
"""Reference cost of one adaptive FFJORD training iteration in PyTorch (CPU), for side-by-side ratios.

The companion of shared/reference/ffjord_step_torch.py with the solver biflow's FFJORD trains with:
the same concatsquash MLP field (dim -> H -> H -> H -> dim, tanh) and Gaussian Hutchinson probe
(one per iteration, fixed during the forward and backward solves), but an adaptive Dormand-Prince 5(4)
solve over [0, T = 0.5] at rtol = atol = 1e-5 and the gradient by the continuous adjoint
("backsolve", as torchdiffeq's odeint_adjoint): the forward solve keeps no graph; the backward pass
solves the augmented state [z, logp, eps, a_z, a_logp, a_eps, a_theta] from T back to 0 with dopri5
at the same tolerances, one vector-Jacobian product of the augmented field per evaluation; a_theta(0)
becomes the parameters' .grad, then one Adam step (lr 1e-3). Median ms over --iters after 2 warm-ups.
Needs Debian's python3-torch (run with /usr/bin/python3). Prints one JSON line.

Solver conventions follow biflow (src/ode/{controller,solve,tensor-space,gradients}.ts) so that the
NFE are comparable:
- PIDController defaults: integral control (pcoeff 0, icoeff 1, dcoeff 0) with error exponent 1/5
  (embedded order + 1), safety 0.9, factor in [0.2, 10], no growth on the step after a rejection,
  rejected steps shrink by max(0.2, min(1, 0.9 ratio^(-1/5))), a non-finite error rejects with 0.2.
- First step by Hairer's algorithm (one extra evaluation), capped at |t1 - t0|; the backward solve
  chooses its own first step the same way (biflow's withTolerance drops any fixed first step).
- The loop: FSAL (6 evaluations per attempted step), a step that would leave less than 1% of itself
  before t1 is stretched to end exactly at t1, maxSteps 100 000.
- Error norm: err = h * sum (b_i - bhat_i) k_i, scaled elementwise by atol + rtol * max(|y0|, |y1|),
  one RMS over every element of the state (TupleSpace, default include-all). The probe eps is a
  state element with zero derivative, as in biflow's CNF (src/ffjord/cnf.ts): it enters the RMS
  count (with zero error) forwards and backwards, and its adjoint a_eps (driven by the trace term)
  enters the backward norm. --no-probe-state leaves eps and a_eps out (the plain [z, logp] state).
- Backward state [y, a, a_theta] with a_theta starting at 0 and included in the norm (biflow's default
  adjointNorm 'rms', not the seminorm); a_theta(0) is the gradient. Output times are [0, T] only, so
  there is one backward interval (no resets in between).
- nfe_forward / nfe_backward count f(t0), the first-step evaluation and 6 per attempted step, as
  biflow's SolveStats.nfe (forward stats / adjointStats).

Differences that remain:
- The state is one flat float32 tensor (torchdiffeq style) rather than a tuple of tensors; the RMS over
  all elements is the same quantity, only the float32 summation order differs, which can move a
  borderline accept/reject and so change NFE by a step now and then.
- Weights use PyTorch's default nn.Linear initialisation (as the fixed-step reference), not biflow's
  ODENet initialisation, and data are N(0, I) samples: NFE depend on the weights and data, so they
  are comparable in kind, not equal iteration by iteration.
- T is fixed (biflow's CNF trains sqrt(T) by default, costing one extra, uncounted field evaluation
  per iteration; set trainT: false for the matching biflow run); no weight decay.
- The logp component here is d logp/dt = -tr (as the fixed-step reference); biflow integrates +tr and
  adds it. The error norm and the loss are unchanged by that sign.
"""
import argparse, json, math, sys, time
import torch
from ffjord_field import Field, add_device_flag, use_device

# Dormand-Prince 5(4): 7 stages, FSAL; B = 5th-order weights, BHAT = embedded 4th-order weights.
C = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
B = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0]
BHAT = [5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]
E = [b - bh for b, bh in zip(B, BHAT)]
ERROR_ORDER = 5  # embedded order + 1


class StepError(RuntimeError):
    pass


def lincomb(y, h, coeffs, ks):
    """y + h * sum_j coeffs[j] * ks[j] (y may be None for a plain combination)."""
    out = torch.zeros_like(ks[0]) if y is None else y.clone()
    for c, k in zip(coeffs, ks):
        if c != 0.0:
            out.add_(k, alpha=h * c)
    return out


def rms_norm(x, y0, y1, rtol, atol):
    """RMS of x / (atol + rtol * max(|y0|, |y1|)) over every element (biflow's errorNorm)."""
    scale = torch.maximum(y0.abs(), y1.abs()).mul_(rtol).add_(atol)
    return math.sqrt(float(torch.square(x / scale).sum()) / x.numel())


def initial_step(f, t0, t1, y0, f0, rtol, atol, count):
    """Hairer's first step (biflow's initialStep): one Euler probe to estimate |f'|."""
    direction = 1.0 if t1 >= t0 else -1.0
    d0 = rms_norm(y0, y0, y0, rtol, atol)
    d1 = rms_norm(f0, y0, y0, rtol, atol)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    y1 = y0 + (direction * h0) * f0
    f1 = f(t0 + direction * h0, y1)
    count()
    d2 = rms_norm(f1 - f0, y0, y0, rtol, atol) / h0
    dmax = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else (0.01 / dmax) ** (1 / ERROR_ORDER)
    h = min(100 * h0, h1)
    return h if math.isfinite(h) and h > 0 else 1e-6


class PIDController:
    """biflow's PIDController with its defaults (integral control); one instance per solve."""

    def __init__(self, pcoeff=0.0, icoeff=1.0, dcoeff=0.0, safety=0.9, factor_min=0.2, factor_max=10.0):
        k = ERROR_ORDER
        self.beta1 = (pcoeff + icoeff + dcoeff) / k
        self.beta2 = -(pcoeff + 2 * dcoeff) / k
        self.beta3 = dcoeff / k
        self.safety, self.factor_min, self.factor_max = safety, factor_min, factor_max
        self.prev1 = self.prev2 = 1.0
        self.last_rejected = False

    def decide(self, h, ratio):
        """Returns (accept, next signed step)."""
        if not math.isfinite(ratio):
            accept, factor = False, self.factor_min
        elif ratio <= 1:
            accept = True
            if ratio == 0:
                factor = self.factor_max
            else:
                log_factor = -self.beta1 * math.log(ratio)
                if self.beta2 != 0:
                    log_factor -= self.beta2 * math.log(self.prev1)
                if self.beta3 != 0:
                    log_factor -= self.beta3 * math.log(self.prev2)
                factor = self.safety * math.exp(log_factor)
            factor = min(max(factor, self.factor_min), 1.0 if self.last_rejected else self.factor_max)
            self.prev2, self.prev1 = self.prev1, max(ratio, 1e-4)
        else:
            accept = False
            factor = max(self.factor_min, min(1.0, self.safety * math.exp(-math.log(ratio) / ERROR_ORDER)))
        self.last_rejected = not accept
        return accept, math.copysign(abs(h) * factor, h)


def dopri5(f, y0, t0, t1, rtol, atol, max_steps=100_000):
    """Adaptive dopri5 solve of dy/dt = f(t, y) from t0 to t1 (t1 < t0 runs backwards).

    Returns (y(t1), stats) with stats = {nfe, accepted, rejected}. Works under autograd too (the
    ratio is read as a float, so a graph through the steps is the 'direct' gradient).
    """
    stats = {"nfe": 0, "accepted": 0, "rejected": 0}
    if t0 == t1:
        return y0, stats

    def count():
        stats["nfe"] += 1

    direction = 1.0 if t1 >= t0 else -1.0
    k0 = f(t0, y0)
    count()
    if not bool(torch.isfinite(k0).all()):
        raise StepError(f"f(t0, y0) is not finite at t = {t0}")
    ctrl = PIDController()
    h = direction * min(initial_step(f, t0, t1, y0, k0, rtol, atol, count), abs(t1 - t0))
    t, y, steps = t0, y0, 0
    while (t1 - t) * direction > 0:
        if steps >= max_steps:
            raise StepError(f"max_steps = {max_steps} not enough to reach t1 = {t1} (at t = {t})")
        if (t + 1.01 * h - t1) * direction > 0:
            h = t1 - t
        if abs(h) <= 4 * 2.220446049250313e-16 * abs(t) or h == 0:
            raise StepError(f"step size underflow (h = {h}) at t = {t}")
        ks = [k0]
        for i in range(1, 6):
            ks.append(f(t + C[i] * h, lincomb(y, h, A[i], ks)))
        y1 = lincomb(y, h, B[:6], ks)
        ks.append(f(t + h, y1))
        stats["nfe"] += 6
        steps += 1
        ratio = rms_norm(lincomb(None, h, E, ks), y, y1, rtol, atol)
        accept, h_next = ctrl.decide(h, ratio)
        if accept:
            stats["accepted"] += 1
            t = t1 if h == t1 - t else t + h
            y, k0 = y1, ks[6]  # FSAL: f(t1, y1) is the next step's first stage
        else:
            stats["rejected"] += 1
        h = h_next
    return y, stats



class FFJORDAdjoint:
    """Forward solve without graph and backsolve gradient for one batch of a CNF with a fixed probe.

    Forward state (flat): [z (B*D), logp (B), eps (B*D) if probe_in_state]; d logp/dt = -eps^T (df/dz) eps.
    Backward state: [forward state, its adjoint, a_theta (all parameters, flattened)].
    """

    def __init__(self, field, batch, dim, probe_in_state=True):
        self.field, self.B, self.D = field, batch, dim
        self.params = [p for p in field.parameters()]
        self.P = sum(p.numel() for p in self.params)
        self.probe_in_state = probe_in_state
        self.n = batch * dim + batch + (batch * dim if probe_in_state else 0)
        self.eps = None  # the probe when it is not part of the state

    def _time(self, t, like):
        return torch.tensor(t, dtype=like.dtype)

    def _split(self, y):
        BD, B = self.B * self.D, self.B
        z = y[:BD].view(B, self.D)
        logp = y[BD:BD + B]
        eps = y[BD + B:2 * BD + B].view(B, self.D) if self.probe_in_state else self.eps
        return z, logp, eps

    def forward_field(self, t, y):
        z, _, eps = self._split(y)
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            fz = self.field(self._time(t, y), z)
            vjp = torch.autograd.grad(fz, z, eps)[0]
        parts = [fz.detach().reshape(-1), -(vjp * eps).sum(1)]
        if self.probe_in_state:
            parts.append(torch.zeros(self.B * self.D, dtype=y.dtype))
        return torch.cat(parts)

    def adjoint_field(self, t, s):
        n, BD, B = self.n, self.B * self.D, self.B
        y, adj = s[:n], s[n:2 * n]
        z, _, eps = self._split(y)
        a_z, a_logp = adj[:BD].view(B, self.D), adj[BD:BD + B]
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            inputs = [z]
            if self.probe_in_state:
                eps = eps.detach().requires_grad_(True)
                inputs.append(eps)
            fz = self.field(self._time(t, s), z)
            vjp = torch.autograd.grad(fz, z, eps, create_graph=True)[0]
            dlogp = -(vjp * eps).sum(1)
            # One VJP of the augmented field [f, -tr] with the adjoint, w.r.t. (z, eps, theta).
            grads = torch.autograd.grad((fz, dlogp), inputs + self.params, (a_z, a_logp), allow_unused=True)
        grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs + self.params)]
        zero_b = torch.zeros(B, dtype=s.dtype)
        parts = [fz.detach().reshape(-1), dlogp.detach()]
        if self.probe_in_state:
            parts.append(torch.zeros(BD, dtype=s.dtype))
        parts += [-grads[0].reshape(-1), zero_b]  # a_logp' = 0: f does not depend on logp
        if self.probe_in_state:
            parts.append(-grads[1].reshape(-1))
        parts += [-g.reshape(-1) for g in grads[len(inputs):]]
        return torch.cat(parts)

    def loss_and_grad(self, x, eps, T, rtol, atol):
        """Returns (loss, flat parameter gradient, forward stats, backward stats)."""
        B, D = self.B, self.D
        self.eps = eps
        parts = [x.reshape(-1), torch.zeros(B, dtype=x.dtype)]
        if self.probe_in_state:
            parts.append(eps.reshape(-1))
        with torch.no_grad():
            yT, fstats = dopri5(self.forward_field, torch.cat(parts), 0.0, T, rtol, atol)
            z, logp, _ = self._split(yT)
            logpz = -0.5 * D * math.log(2 * math.pi) - 0.5 * (z ** 2).sum(1)
            loss = -(logpz - logp).mean()
            # Cotangents of the loss at T: dL/dz = z / B, dL/dlogp = 1 / B, dL/deps = 0.
            adj = [z.reshape(-1) / B, torch.full((B,), 1.0 / B, dtype=x.dtype)]
            if self.probe_in_state:
                adj.append(torch.zeros(B * D, dtype=x.dtype))
            s0 = torch.cat([yT] + adj + [torch.zeros(self.P, dtype=x.dtype)])
            s, bstats = dopri5(self.adjoint_field, s0, T, 0.0, rtol, atol)
        return float(loss), s[2 * self.n:].clone(), fstats, bstats

    def set_grads(self, flat):
        o = 0
        for p in self.params:
            p.grad = flat[o:o + p.numel()].view_as(p).clone()
            o += p.numel()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--T", type=float, default=0.5)
    p.add_argument("--serve", action="store_true",
                   help="after the warm-up, read a count k per stdin line and answer each with one JSON line "
                        "of k timed iterations (for benchmarks that interleave with another process)")
    p.add_argument("--no-probe-state", action="store_true",
                   help="keep eps out of the solver state (and a_eps out of the adjoint): not biflow's norm")
    add_device_flag(p)
    a = p.parse_args()
    sync = use_device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    field = Field(a.dim, a.hidden)
    opt = torch.optim.Adam(field.parameters(), lr=1e-3)
    cnf = FFJORDAdjoint(field, a.batch, a.dim, probe_in_state=not a.no_probe_state)

    def iteration():
        opt.zero_grad()
        x = torch.randn(a.batch, a.dim)
        e = torch.randn_like(x)
        loss, g, fs, bs = cnf.loss_and_grad(x, e, a.T, a.rtol, a.atol)
        cnf.set_grads(g)
        opt.step()
        sync()
        return fs["nfe"], bs["nfe"]

    for _ in range(2):
        iteration()
    if a.serve:
        print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": a.threads, "ready": True}), flush=True)
        for line in sys.stdin:
            out = {"times_ms": [], "nfe_forward": [], "nfe_backward": []}
            for _ in range(int(line)):
                s = time.perf_counter()
                nf, nb = iteration()
                out["times_ms"].append(1e3 * (time.perf_counter() - s))
                out["nfe_forward"].append(nf)
                out["nfe_backward"].append(nb)
            print(json.dumps(out), flush=True)
        return
    times, nfe_f, nfe_b = [], [], []
    for _ in range(a.iters):
        s = time.perf_counter()
        nf, nb = iteration()
        times.append(time.perf_counter() - s)
        nfe_f.append(nf)
        nfe_b.append(nb)
    med = lambda v: sorted(v)[len(v) // 2]
    ms = 1e3 * med(times)
    nf, nb = med(nfe_f), med(nfe_b)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "device": a.device, "threads": a.threads, "batch": a.batch,
                      "dim": a.dim, "hidden": a.hidden, "solver": "dopri5", "gradient": "backsolve",
                      "rtol": a.rtol, "atol": a.atol, "T": a.T, "probe_in_state": not a.no_probe_state,
                      "nfe_forward": nf, "nfe_backward": nb, "nfe_forward_last": nfe_f[-1],
                      "nfe_backward_last": nfe_b[-1], "nfe": nf + nb, "ms_per_iter": round(ms, 3),
                      "ms_per_nfe": round(ms / (nf + nb), 4)}))


if __name__ == "__main__":
    main()
