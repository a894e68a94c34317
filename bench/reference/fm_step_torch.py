#!/usr/bin/env python3
"""Reference cost of one flow-matching training iteration in PyTorch (CPU, one thread by default),
for `biflow bench fm-step`'s side-by-side ratio.

The same work as a biflow FM iteration: the concatsquash field of ffjord_field.py (dim -> H -> H ->
H -> dim, tanh), a batch of data rows x0 and base samples x1 ~ N(0, I), a time per row, the straight
path x = (1 - tau) x0 + tau x1 (+ sigma eps), loss mean ||f(tau T, x) - (x1 - x0) / T||^2, backward,
one Adam step (lr 1e-3). --objective ot-cfm first reorders x1 by scipy's exact assignment
(linear_sum_assignment) on the squared distances, as torchcfm's exact OT sampler does with a
permutation plan. The data rows are the 8gaussians toy (FFJORD's). Prints one JSON line; with --serve
it answers counts read from stdin (see ffjord_step_torch.py).
Needs Debian's python3-torch and python3-scipy; OMP_NUM_THREADS=1 is set before torch loads.
"""
import argparse, json, math, os, sys, time

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=256)
p.add_argument("--dim", type=int, default=2)
p.add_argument("--hidden", type=int, default=64)
p.add_argument("--objective", choices=["cfm", "ot-cfm"], default="cfm")
p.add_argument("--sigma", type=float, default=0.0)
p.add_argument("--T", type=float, default=0.5)
p.add_argument("--iters", type=int, default=50)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--serve", action="store_true", help="after the warm-up, answer each stdin count k with k timed iterations")
a = p.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from ffjord_field import Field, median_ms, serve

torch.set_num_threads(a.threads)
torch.manual_seed(0)
field = Field(a.dim, a.hidden)
opt = torch.optim.Adam(field.parameters(), lr=1e-3)
centres = torch.tensor([(math.cos(k * math.pi / 4), math.sin(k * math.pi / 4)) for k in range(8)]) * 4


def data(n):
    x = centres[torch.randint(0, 8, (n,))] + 0.5 * torch.randn(n, 2)
    x = x / math.sqrt(2)
    return x if a.dim == 2 else torch.randn(n, a.dim)


assign_ms = []


def iteration():
    x0 = data(a.batch)
    opt.zero_grad()
    x1 = torch.randn(a.batch, a.dim)
    if a.objective == "ot-cfm":
        s = time.perf_counter()
        cost = torch.cdist(x0, x1) ** 2
        _, cols = linear_sum_assignment(cost.numpy())
        assign_ms.append(1e3 * (time.perf_counter() - s))
        x1 = x1[torch.from_numpy(cols)]
    tau = torch.rand(a.batch, 1)
    x = (1 - tau) * x0 + tau * x1
    if a.sigma > 0:
        x = x + a.sigma * torch.randn_like(x)
    u = (x1 - x0) / a.T
    loss = ((field(tau * a.T, x) - u) ** 2).sum(1).mean()
    loss.backward()
    opt.step()
    return float(loss)


for _ in range(5):
    iteration()
if a.serve:
    def extra(k):
        out = {"assign_ms": list(assign_ms[-k:]) if a.objective == "ot-cfm" else [], "nfe_forward": [1] * k, "nfe_backward": [1] * k}
        assign_ms.clear()
        return out
    serve(iteration, a.threads, extra)
    sys.exit(0)
ms = median_ms(iteration, a.iters)
print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": a.threads, "batch": a.batch, "dim": a.dim,
                  "hidden": a.hidden, "objective": a.objective, "ms_per_iter": round(ms, 3), "ms_per_nfe": round(ms, 3)}))
