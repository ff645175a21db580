#!/usr/bin/python3
"""Writes tests/data/optim.safetensors: 3 steps of torch.optim.SGD (momentum) and AdamW.

    /usr/bin/python3 tools/gen-ref-optim.py [out.safetensors]

Names (all F32):
    pK.init                 initial values of parameter K (K = 0..4; sizes in SIZES)
    pK.grad1 .. pK.grad3    the gradient used at step 1, 2, 3 (the same for both optimizers)
    sgd.pK.step1 .. step3   the parameter after each SGD step
    sgd.pK.buf3             the momentum buffer after step 3
    adamw.pK.step1 .. step3 the parameter after each AdamW step
    adamw.pK.m3, .v3        exp_avg and exp_avg_sq after step 3
    sgd.params              [lr, momentum, weight_decay]          (dampening 0, nesterov False)
    adamw.params            [lr, beta1, beta2, eps, weight_decay]  (amsgrad False)
p4 has gradients of order 1e-7, so that eps matters in AdamW's denominator.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_safetensors  # noqa: E402

SIZES = [1, 7, 33, 100, 17]
GRAD_SCALE = [1.0, 1.0, 1.0, 1.0, 1e-7]
SGD = dict(lr=0.1, momentum=0.9, weight_decay=1e-4)
ADAMW = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "optim.safetensors")
    torch.manual_seed(1234)
    out = {}
    inits, grads = [], []
    for k, (n, gs) in enumerate(zip(SIZES, GRAD_SCALE)):
        p = torch.randn(n, dtype=torch.float32)
        g = [torch.randn(n, dtype=torch.float32) * gs for _ in range(3)]
        inits.append(p)
        grads.append(g)
        out["p%d.init" % k] = p
        for s in range(3):
            out["p%d.grad%d" % (k, s + 1)] = g[s]

    for name, cls, kw in (("sgd", torch.optim.SGD, SGD), ("adamw", torch.optim.AdamW, ADAMW)):
        params = [torch.nn.Parameter(p.clone()) for p in inits]
        opt = cls(params, **kw)
        for s in range(3):
            for k, p in enumerate(params):
                p.grad = grads[k][s].clone()
            opt.step()
            for k, p in enumerate(params):
                out["%s.p%d.step%d" % (name, k, s + 1)] = p.detach().clone()
        for k, p in enumerate(params):
            st = opt.state[p]
            if name == "sgd":
                out["sgd.p%d.buf3" % k] = st["momentum_buffer"].clone()
            else:
                out["adamw.p%d.m3" % k] = st["exp_avg"].clone()
                out["adamw.p%d.v3" % k] = st["exp_avg_sq"].clone()

    out["sgd.params"] = torch.tensor([SGD["lr"], SGD["momentum"], SGD["weight_decay"]])
    out["adamw.params"] = torch.tensor([ADAMW["lr"], ADAMW["betas"][0], ADAMW["betas"][1], ADAMW["eps"], ADAMW["weight_decay"]])
    meta = {
        "format": "alrp-ref-optim v1",
        "generator": "tools/gen-ref-optim.py",
        "torch": torch.__version__,
        "n_params": str(len(SIZES)),
        "sgd": "torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0, weight_decay=1e-4, nesterov=False)",
        "adamw": "torch.optim.AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)",
    }
    ref_safetensors.save(out_path, out, meta)
    print("wrote %s (%d tensors, %d bytes)" % (out_path, len(out), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
