"""The FFJORD reference model shared by the PyTorch benchmark scripts: a concatsquash MLP vector
field f(t, x) = dim -> H -> H -> H -> dim with tanh between layers; and the --serve protocol."""
import json, sys, time
import torch, torch.nn as nn


class ConcatSquash(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.lin, self.gate, self.bias = nn.Linear(i, o), nn.Linear(1, o), nn.Linear(1, o, bias=False)

    def forward(self, t, x):
        t = t.view(-1, 1)  # one time, or a time per row (flow matching)
        return self.lin(x) * torch.sigmoid(self.gate(t)) + self.bias(t)


class Field(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.layers = nn.ModuleList([ConcatSquash(d, h), ConcatSquash(h, h), ConcatSquash(h, h), ConcatSquash(h, d)])

    def forward(self, t, x):
        for i, layer in enumerate(self.layers):
            x = layer(t, x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return x


def add_device_flag(p):
    p.add_argument("--device", default="cpu",
                   help="cpu, or cuda: every tensor is made there (torch.set_default_device, torch >= 2.0) "
                        "and each iteration ends with torch.cuda.synchronize(), so its time is the GPU's")


def use_device(name):
    """Makes `name` the default device; returns the wait that ends a timed iteration there."""
    if name == "cpu":
        return lambda: None
    torch.set_default_device(name)
    return torch.cuda.synchronize


def serve(iteration, threads, extra, ready=None, commands=None):
    """The --serve protocol: a ready line (`ready`, or PyTorch's), then for each count k read from
    stdin one JSON line with the milliseconds of k timed iterations and extra(k)'s fields; a line
    naming one of `commands` answers with that command's JSON instead."""
    print(json.dumps({**(ready or {"impl": "pytorch", "torch": torch.__version__, "threads": threads}), "ready": True}), flush=True)
    for line in sys.stdin:
        if commands and line.strip() in commands:
            print(json.dumps(commands[line.strip()]()), flush=True)
            continue
        ts = []
        for _ in range(int(line)):
            s = time.perf_counter()
            iteration()
            ts.append(1e3 * (time.perf_counter() - s))
        print(json.dumps({"times_ms": ts, **extra(len(ts))}), flush=True)


def median_ms(iteration, iters):
    """The median wall time of `iters` iterations, in milliseconds."""
    times = []
    for _ in range(iters):
        s = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - s)
    times.sort()
    return 1e3 * times[len(times) // 2]
