#!/usr/bin/env python3
"""Reference for examples/sbi.ts: zuko's conditional NSF on sbibm's gaussian_mixture, trained on
the very same simulations and scored on the very same exact posterior samples.

Reads what `npx tsx examples/sbi.ts --out DIR` writes into DIR:
  gaussian_mixture-sims.npy          [n, 4] rows (theta1, theta2, x1, x2)
  gaussian_mixture-observations.npy  [10, 2] observations x_o
  gaussian_mixture-reference.npy     [10 * M, 3] rows (theta1, theta2, log p(theta | x_o)), M per observation
Trains zuko.flows.NSF(features=2, context=2, transforms=4, hidden_features=(64, 64)) on theta | x,
theta and x z-scored by the simulations' mean and std (sbi's default; the log-det of theta's
z-scoring is added back, so log q is a density of theta in its own units), Adam lr 1e-3, batches
of 256 drawn with replacement, 3000 iterations, one thread. Prints one JSON line: the mean KL(p||q)
over the observations (E_p[log p - log q] on the reference samples), each observation's KL, the
training seconds (wall and CPU: on a shared machine the wall time counts other processes too), and
the versions. --transforms T changes the number of transforms; --coupling builds T spline couplings
instead (zuko's NICE with the NSF's spline and masks alternating; in 2-D an NSF with passes=2 is
still autoregressive), to separate the architecture from the spline.

zuko is pure Python: fetch it (github:probabilists/zuko; tested with 1.6.0 on torch 1.13) and put
its `zuko` package folder under bench/reference/vendor/ (ignored by git), or pass --zuko DIR (the
folder that holds `zuko/`). Run with the system python: OMP_NUM_THREADS=1 /usr/bin/python3 ...
"""
import argparse, json, math, os, sys, time

p = argparse.ArgumentParser()
p.add_argument("--data", default="out/sbi", help="the folder examples/sbi.ts wrote (--out)")
p.add_argument("--zuko", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))
p.add_argument("--iters", type=int, default=3000)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--no-zscore", action="store_true", help="train on theta and x as simulated")
p.add_argument("--transforms", type=int, default=4)
p.add_argument("--coupling", action="store_true", help="spline couplings (zuko's NICE with the NSF's spline) instead of the NSF's autoregressive transforms")
a = p.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, a.zuko)
import numpy as np
import torch
try:
    import zuko
except ImportError:
    sys.exit(f"sbi_zuko.py: zuko not found in {a.zuko}. Fetch github:probabilists/zuko and copy its zuko/ folder there, or pass --zuko DIR.")

torch.set_num_threads(1)
torch.manual_seed(a.seed)
name = "gaussian_mixture"
sims = torch.from_numpy(np.load(os.path.join(a.data, f"{name}-sims.npy")).astype(np.float32))
obs = np.load(os.path.join(a.data, f"{name}-observations.npy")).astype(np.float32)
ref = np.load(os.path.join(a.data, f"{name}-reference.npy")).astype(np.float64)
theta, x = sims[:, :2], sims[:, 2:]
if a.no_zscore:
    mt, st, mx, sx = torch.zeros(2), torch.ones(2), torch.zeros(2), torch.ones(2)
else:
    mt, st, mx, sx = theta.mean(0), theta.std(0), x.mean(0), x.std(0)
zt, zx = (theta - mt) / st, (x - mx) / sx

if a.coupling:
    # In 2-D an NSF with passes=2 is still autoregressive (x1 | c, then x2 | x1, c): a coupling needs NICE's masks.
    from functools import partial
    flow = zuko.flows.NICE(features=2, context=2, transforms=a.transforms, hidden_features=(64, 64),
                           univariate=partial(zuko.transforms.MonotonicRQSTransform, slope=1e-3), shapes=[(8,), (8,), (7,)])
else:
    flow = zuko.flows.NSF(features=2, context=2, transforms=a.transforms, hidden_features=(64, 64))
opt = torch.optim.Adam(flow.parameters(), lr=a.lr)
g = torch.Generator().manual_seed(a.seed)
t0, cpu0 = time.perf_counter(), time.process_time()
for it in range(a.iters):
    idx = torch.randint(0, len(sims), (a.batch,), generator=g)
    loss = -flow(zx[idx]).log_prob(zt[idx]).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0

m = len(ref) // len(obs)
kls = []
with torch.no_grad():
    for j, xo in enumerate(obs):
        rows = torch.from_numpy(ref[j * m:(j + 1) * m, :2].astype(np.float32))
        c = ((torch.from_numpy(xo) - mx) / sx).expand(m, 2)
        logq = flow(c).log_prob((rows - mt) / st).double() - torch.log(st).sum().double()
        kls.append(float(np.mean(ref[j * m:(j + 1) * m, 2] - logq.numpy())))
print(json.dumps({"reference": "zuko", "zuko": zuko.__version__, "torch": torch.__version__, "task": name, "sims": len(sims),
                  "iters": a.iters, "batch": a.batch, "transforms": a.transforms, "coupling": a.coupling, "zscore": not a.no_zscore, "trainSeconds": seconds, "trainCpuSeconds": cpu_seconds,
                  "meanKL": float(np.mean(kls)), "perObservation": kls, "finalLoss": float(loss)}))
