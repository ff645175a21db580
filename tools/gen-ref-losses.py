#!/usr/bin/env python3
"""Reference tensors for tests/test-loss-box.c: writes tests/data/losses.safetensors.

Run from the repository root with the Python that has PyTorch and torchvision:
    /usr/bin/python3 tools/gen-ref-losses.py

Inputs are rounded to float32 (what the C test reads), then everything is computed in float64
with PyTorch's own functions (torchvision.ops.sigmoid_focal_loss,
torchvision.ops.generalized_box_iou_loss, torch.nn.functional.smooth_l1_loss / l1_loss) and input
gradients from autograd, then stored as F32. The box delta coder (mmdet's DeltaXYWHBBoxCoder, no
+1, as docs/ranking-losses.md section 4 states it) is written here in torch from those formulas.
Deterministic (fixed seed); the file is a few KB.
"""
import os
import sys

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
try:
    from ref_safetensors import save  # the team's writer (io branch)
except ImportError:  # until it is merged: the same file layout, F32 only
    import json
    import struct

    def save(path, tensors):
        header, blobs, off = {}, [], 0
        for name, t in tensors.items():
            b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
            header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
        h = json.dumps(header, separators=(",", ":")).encode("utf-8")
        h += b" " * (-len(h) % 8)
        with open(path + ".tmp", "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        os.replace(path + ".tmp", path)

torch.manual_seed(20201019)
D = torch.float64
out = {}


def f32(t):
    """the float32 value the C test will read, as float64"""
    return t.to(torch.float32).to(D)


def leaf(t):
    return t.detach().clone().to(D).requires_grad_(True)


def grad_of(f, *xs):
    xs = [leaf(x) for x in xs]
    y = f(*xs)
    return y.detach(), xs


# ---- sigmoid focal loss -----------------------------------------------------------------------
n = 32
logits = f32(torch.cat([torch.randn(24, dtype=D) * 3.0, torch.tensor([-15.0, 15.0, -8.0, 8.0, 0.0, 0.3, -0.3, 12.0], dtype=D)]))
targets = (torch.rand(n, dtype=D) < 0.3).to(D)
targets[5] = 0.25  # soft targets are allowed by torchvision
targets[17] = 0.8
targets = f32(targets)
go = f32(torch.randn(n, dtype=D))
out["focal.logits"], out["focal.targets"], out["focal.go"] = logits, targets, go
for c, (alpha, gamma) in enumerate([(0.25, 2.0), (0.4, 1.5), (-1.0, 0.0), (0.25, 0.5)]):
    for red, up in [("none", go), ("sum", torch.tensor(1.75, dtype=D)), ("mean", torch.tensor(0.875, dtype=D))]:
        if red != "none" and c != 0:
            continue  # the reductions once; the four (alpha, gamma) pairs with "none"
        x = leaf(logits)
        y = sigmoid_focal_loss(x, targets, alpha=alpha, gamma=gamma, reduction=red)
        (y * up).sum().backward()
        out["focal.c%d.%s" % (c, red)] = y.detach().reshape(-1)
        out["focal.c%d.%s.grad" % (c, red)] = x.grad
out["focal.params"] = torch.tensor([0.25, 2.0, 0.4, 1.5, -1.0, 0.0, 0.25, 0.5], dtype=D)

# ---- smooth L1 and L1 -------------------------------------------------------------------------
n = 24
pred = f32(torch.randn(n, dtype=D))
target = f32(pred + torch.randn(n, dtype=D) * 0.6)
gsl = f32(torch.randn(n, dtype=D))
out["sl1.pred"], out["sl1.target"], out["sl1.go"] = pred, target, gsl
for name, fn in [("beta1", lambda p: F.smooth_l1_loss(p, target, beta=1.0, reduction="none")),
                 ("beta011", lambda p: F.smooth_l1_loss(p, target, beta=0.11, reduction="none")),
                 ("l1", lambda p: F.l1_loss(p, target, reduction="none"))]:
    p = leaf(pred)
    y = fn(p)
    (y * gsl).sum().backward()
    out["sl1.%s" % name] = y.detach()
    out["sl1.%s.grad" % name] = p.grad
p = leaf(pred)
y = F.smooth_l1_loss(p, target, beta=0.11, reduction="mean")
y.backward()
out["sl1.beta011.mean"] = y.detach().reshape(1)
out["sl1.beta011.mean.grad"] = p.grad


# ---- GIoU loss ----------------------------------------------------------------------------------
def rand_boxes(m):
    xy = torch.rand(m, 2, dtype=D) * 10.0
    wh = torch.rand(m, 2, dtype=D) * 5.0 + 0.2
    return torch.cat([xy, xy + wh], dim=1)


n = 24
bp = f32(rand_boxes(n))
bt = bp + torch.randn(n, 4, dtype=D) * 1.5          # overlapping, shifted
bt = torch.stack([torch.minimum(bt[:, 0], bt[:, 2] - 0.1), torch.minimum(bt[:, 1], bt[:, 3] - 0.1), bt[:, 2], bt[:, 3]], 1)
bt[0:4] = rand_boxes(4) + 20.0                       # disjoint
bt[4] = bp[4]                                        # identical (min/max ties)
bt[5] = torch.tensor([bp[5, 0] - 1, bp[5, 1] - 1, bp[5, 2] + 1, bp[5, 3] + 1])  # contains
bt[6] = torch.tensor([bp[6, 2], bp[6, 1], bp[6, 2] + 2, bp[6, 3]])              # touching edge
bt[7] = torch.tensor([bp[7, 0], bp[7, 1] + 0.5, bp[7, 2] + 1.0, bp[7, 3] + 0.25])  # one shared edge
bt = f32(bt)
ggo = f32(torch.randn(n, dtype=D))
out["giou.pred"], out["giou.target"], out["giou.go"] = bp, bt, ggo
p, t = leaf(bp), leaf(bt)
y = generalized_box_iou_loss(p, t, reduction="none", eps=1e-7)
(y * ggo).sum().backward()
out["giou.none"], out["giou.none.grad_pred"], out["giou.none.grad_target"] = y.detach(), p.grad, t.grad
p, t = leaf(bp), leaf(bt)
y = generalized_box_iou_loss(p, t, reduction="mean", eps=1e-7)
y.backward()
out["giou.mean"], out["giou.mean.grad_pred"] = y.detach().reshape(1), p.grad

# ---- box coding and E_loc (decode against the unit anchor, then 1 - GIoU) -----------------------
MAX_RATIO = abs(torch.log(torch.tensor(16.0 / 1000.0, dtype=D))).item()
STDS = f32(torch.tensor([0.1, 0.1, 0.2, 0.2], dtype=D))


def decode(anchors, deltas, means, stds):
    d = deltas * stds + means
    dx, dy = d[:, 0], d[:, 1]
    dw, dh = d[:, 2].clamp(min=-MAX_RATIO, max=MAX_RATIO), d[:, 3].clamp(min=-MAX_RATIO, max=MAX_RATIO)
    px, py = (anchors[:, 0] + anchors[:, 2]) * 0.5, (anchors[:, 1] + anchors[:, 3]) * 0.5
    pw, ph = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    gw, gh = pw * dw.exp(), ph * dh.exp()
    gx, gy = px + pw * dx, py + ph * dy
    return torch.stack([gx - gw * 0.5, gy - gh * 0.5, gx + gw * 0.5, gy + gh * 0.5], 1)


def encode(anchors, boxes, means, stds):
    px, py = (anchors[:, 0] + anchors[:, 2]) * 0.5, (anchors[:, 1] + anchors[:, 3]) * 0.5
    pw, ph = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    gx, gy = (boxes[:, 0] + boxes[:, 2]) * 0.5, (boxes[:, 1] + boxes[:, 3]) * 0.5
    gw, gh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    d = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], 1)
    return (d - means) / stds


n = 12
anchors = f32(rand_boxes(n))
boxes = f32(rand_boxes(n))
means = f32(torch.tensor([0.01, -0.02, 0.03, -0.01], dtype=D))
out["box.anchors"], out["box.boxes"], out["box.means"], out["box.stds"] = anchors, boxes, means, STDS
out["box.encoded"] = encode(anchors, boxes, means, STDS)
deltas = torch.randn(n, 4, dtype=D) * 2.0
deltas[0, 2], deltas[1, 3], deltas[2, 2] = 25.0, -30.0, 21.5   # beyond the clamp (|dw| > 4.135 / 0.2)
deltas = f32(deltas)
gb = f32(torch.randn(n, 4, dtype=D))
out["box.deltas"], out["box.go"] = deltas, gb
d = leaf(deltas)
y = decode(anchors, d, means, STDS)
(y * gb).sum().backward()
out["box.decoded"], out["box.decoded.grad"] = y.detach(), d.grad
unit = torch.tensor([[-0.5, -0.5, 0.5, 0.5]], dtype=D).expand(n, 4)
zeros = torch.zeros(4, dtype=D)
pred_d = torch.randn(n, 4, dtype=D) * 1.5
tgt_d = torch.randn(n, 4, dtype=D) * 1.5
pred_d[3, 3] = 22.0
pred_d, tgt_d = f32(pred_d), f32(tgt_d)
gl = f32(torch.rand(n, dtype=D) * 3.0)
out["eloc.pred"], out["eloc.target"], out["eloc.go"] = pred_d, tgt_d, gl
p = leaf(pred_d)
e = generalized_box_iou_loss(decode(unit, p, zeros, STDS), decode(unit, tgt_d, zeros, STDS), reduction="none", eps=1e-7)
(e * gl).sum().backward()
out["eloc.loc_err"], out["eloc.grad"] = e.detach(), p.grad

path = os.path.join(ROOT, "tests", "data", "losses.safetensors")
save(path, out)
print("wrote %s (%d tensors, %d bytes)" % (os.path.relpath(path, ROOT), len(out), os.path.getsize(path)))
