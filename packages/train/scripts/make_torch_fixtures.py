"""Writes test/fixtures/torch-optim.json: trajectories of PyTorch's optimizers, schedulers and
gradient clipping on small tensors, in float64, for @recur/train's tests.

Run from the repository root (needs only PyTorch):
    /usr/bin/python3 packages/train/scripts/make_torch_fixtures.py
"""
import json
import os

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)

STEPS = 5
SHAPES = [[2, 3], [3]]


def values(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def trajectory(make):
    gen = torch.Generator().manual_seed(1)
    params = [torch.randn(s, generator=gen).requires_grad_() for s in SHAPES]
    opt = make(params)
    initial = [values(p) for p in params]
    grads, after = [], []
    for _ in range(STEPS):
        gs = [torch.randn(s, generator=gen) for s in SHAPES]
        for p, g in zip(params, gs):
            p.grad = g.clone()
        opt.step()
        grads.append([values(g) for g in gs])
        after.append([values(p) for p in params])
    return {"shapes": SHAPES, "initial": initial, "grads": grads, "after": after}


O = torch.optim
optimizers = {
    "sgd": ({"lr": 0.1}, lambda p: O.SGD(p, lr=0.1)),
    "sgd-momentum": ({"lr": 0.1, "momentum": 0.9}, lambda p: O.SGD(p, lr=0.1, momentum=0.9)),
    "sgd-dampening-wd": (
        {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weightDecay": 0.1},
        lambda p: O.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1),
    ),
    "sgd-nesterov": (
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01},
        lambda p: O.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    "adam": ({"lr": 0.01}, lambda p: O.Adam(p, lr=0.01)),
    "adam-wd-amsgrad": (
        {"lr": 0.02, "betas": [0.8, 0.9], "eps": 1e-6, "weightDecay": 0.1, "amsgrad": True},
        lambda p: O.Adam(p, lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True),
    ),
    "adamw": ({"lr": 0.01, "weightDecay": 0.1}, lambda p: O.AdamW(p, lr=0.01, weight_decay=0.1)),
    "rmsprop": ({"lr": 0.01}, lambda p: O.RMSprop(p, lr=0.01)),
    "rmsprop-centered-momentum-wd": (
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True, "weightDecay": 0.05},
        lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.05),
    ),
    "adagrad": ({"lr": 0.1}, lambda p: O.Adagrad(p, lr=0.1)),
    "adagrad-decay-wd-init": (
        {"lr": 0.1, "lrDecay": 0.1, "weightDecay": 0.05, "initialAccumulatorValue": 0.5},
        lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.5),
    ),
}

out = {"optimizers": {}, "schedulers": {}, "clip": {}}
for name, (options, make) in optimizers.items():
    out["optimizers"][name] = {"options": options, **trajectory(make)}


def lrs(make, n=12, metrics=None):
    p = [torch.zeros(1, requires_grad=True)]
    opt = O.SGD(p, lr=0.5)
    sched = make(opt)
    seq = [opt.param_groups[0]["lr"]]
    for i in range(n):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        seq.append(opt.param_groups[0]["lr"])
    return seq


S = O.lr_scheduler
plateau_metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89]
out["schedulers"] = {
    "step": {"options": {"stepSize": 3, "gamma": 0.5}, "lrs": lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5))},
    "exponential": {"options": {"gamma": 0.9}, "lrs": lrs(lambda o: S.ExponentialLR(o, gamma=0.9))},
    "cosine": {
        "options": {"tMax": 12, "minLr": 0.05},
        "lrs": lrs(lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.05)),
    },
    "warmup": {
        "options": {"steps": 4, "startFactor": 0.25},
        "lrs": lrs(lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4)),
    },
    "plateau": {
        "options": {"factor": 0.5, "patience": 1, "threshold": 0.01, "cooldown": 1, "minLr": 0.1},
        "metrics": plateau_metrics,
        "lrs": lrs(
            lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.01, cooldown=1, min_lr=0.1),
            metrics=plateau_metrics,
        ),
    },
}

gen = torch.Generator().manual_seed(2)
for norm_type in [2.0, 1.0, float("inf")]:
    params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen) * 3
    before = [values(p.grad) for p in params]
    total = torch.nn.utils.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    key = "inf" if norm_type == float("inf") else str(int(norm_type))
    out["clip"][key] = {
        "maxNorm": 1.5,
        "grads": before,
        "norm": float(total),
        "clipped": [values(p.grad) for p in params],
    }

path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "torch-optim.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(path))
