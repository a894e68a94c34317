"""The FFJORD reference model shared by the PyTorch benchmark scripts: a concatsquash MLP vector
field f(t, x) = dim -> H -> H -> H -> dim with tanh between layers."""
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
