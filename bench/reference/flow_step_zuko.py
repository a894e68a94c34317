#!/usr/bin/env python3
"""Reference cost of one discrete-flow training iteration in zuko (PyTorch, CPU), for side-by-side ratios.

One iteration: a batch, the mean negative log-likelihood, backward, one Adam (1e-3) step. The models are
zuko's matches of biflow's defaults (2-D data, conditioners 64-64 with ReLU):
  realnvp  zuko.flows.RealNVP(2, transforms=6)                                   (affine couplings)
  nsf      zuko.flows.NSF(2, transforms=4, hidden_features=(64, 64), bins=8)     (MAF of splines, bound 5)
  nice     zuko.flows.NICE(2, transforms=4)        (zuko's NICE is affine; biflow's is additive + a scaling)
  glow     zuko.flows.RealNVP(2, transforms=4)     (zuko has no Glow: biflow adds ActNorm and an LU linear)
zuko is pure Python: it is looked for in bench/reference/vendor/zuko (tag 1.6.0, the newest tag; it runs on
torch 1.13 (requires torch >= 1.12); `git archive 1.6.0 zuko` of github.com/probabilists/zuko), then on sys.path.
Data: --train/--test name float32 files of rows (dim 2), written by `biflow bench flow-step`: batch k
is rows [kB, (k+1)B) of --train, as biflow's batch k; without them the batches are standard normal.
--warmup untimed iterations run first (biflow's warm-up and kernel-count iterations). With --serve it answers stdin lines: a count k -> k timed
iterations ({"times_ms": [...]}); "nll" -> the mean test NLL ({"nll": x}).
"""
import argparse, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "vendor"))
import numpy as np
import torch
import zuko
from ffjord_field import median_ms, serve

p = argparse.ArgumentParser()
p.add_argument("--model", choices=["realnvp", "nsf", "nice", "glow"], default="realnvp")
p.add_argument("--batch", type=int, default=256)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--iters", type=int, default=20)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--train", default=None)
p.add_argument("--test", default=None)
p.add_argument("--serve", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

F = zuko.flows
flow = {
    "realnvp": lambda: F.RealNVP(2, transforms=6),
    "nsf": lambda: F.NSF(2, transforms=4, hidden_features=(64, 64), bins=8),
    "nice": lambda: F.NICE(2, transforms=4),
    "glow": lambda: F.RealNVP(2, transforms=4),
}[a.model]()
opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
rows = lambda f: torch.from_numpy(np.fromfile(f, dtype=np.float32).reshape(-1, 2)) if f else None
train, test = rows(a.train), rows(a.test)


drawn = 0


def iteration():
    # Batch k is rows [kB, (k+1)B) of --train (biflow's batch k), wrapping around.
    global drawn
    if train is not None:
        k = drawn % (len(train) // a.batch)
        x = train[k * a.batch:(k + 1) * a.batch]
    else:
        x = torch.randn(a.batch, 2)
    drawn += 1
    opt.zero_grad()
    loss = -flow().log_prob(x).mean()
    loss.backward()
    opt.step()
    return float(loss)


def nll():
    with torch.no_grad():
        return float(-flow().log_prob(test).mean()) if test is not None else float("nan")


info = {"impl": "zuko", "zuko": zuko.__version__, "torch": torch.__version__, "threads": a.threads, "model": a.model, "batch": a.batch}
for _ in range(a.warmup):
    iteration()
if a.serve:
    serve(iteration, a.threads, lambda k: {"nfe_forward": [0] * k, "nfe_backward": [0] * k}, ready=info, commands={"nll": lambda: {"nll": nll()}})
    sys.exit(0)
print(json.dumps({**info, "ms_per_iter": round(median_ms(iteration, a.iters), 3)}))
