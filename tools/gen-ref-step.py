#!/usr/bin/python3
"""Writes tests/data/step.safetensors: PyTorch references for one training step of the detector
(detector/model-loss.c), checked by tests/test-step.c.

    /usr/bin/python3 tools/gen-ref-step.py [out.safetensors]

Needs torch and torchvision. The network is the reference RetinaNet of tools/gen-ref-model.py
(torchvision's ResNet structure, [A]'s FPN and head), here on the small backbone at reduced
width: BasicBlocks [1, 1, 1, 1], base width 4 (C3-C5 = 8, 16, 32 channels), FPN 16 channels,
head 16 channels x 2 convs, 3 anchors, 3 classes, frozen BN (norm_eval), frozen_stages 1.
Input: 2 images of 128 x 128, so A_total = 3 (16^2 + 8^2 + 4^2 + 2^2 + 1) = 1023 per image.
The weights are stored (C cannot reproduce torch's RNG) under the C model's names; the step's
targets (labels, delta targets) are made here and stored, so the test checks the graph, not
the assigner. The network runs in float64 from the stored float32 values.

The losses are computed by the naive O(P N) loops of the ranking losses, written from their
definition (not with the project's kernels):
  aLRP  for each positive i: rank+(i) = 1 + sum_{k != i} H(s_k - s_i), N_FP(i) = sum over
        negatives j with s_j >= min(pos) - delta of H(s_j - s_i), rank = rank+ + N_FP;
        cls = 1 - mean rank+/rank. The logits' update: when N_FP(i) > 1e-5,
        e_i = (N_FP(i) + sum_{k != i} H(s_k - s_i) E_loc(k)) / rank(i), g_i = -e_i / P and each
        relevant negative j gets e_i / P * H(s_j - s_i) / N_FP(i); E_loc held constant.
        loc = mean over positives in descending score order of cumsum(E_loc) / rank (rank
        constant; the gradient flows into the deltas through GIoU). H(x) = clamp(x / 2 + 1/2, 0, 1)
        (delta = 1). E_loc = 1 - GIoU of both deltas decoded on the unit anchor with stds
        (0.1, 0.1, 0.2, 0.2), |dw|, |dh| clamped to ln(1000/16). total = mean over groups of
        (cls_g + w_SB loc_g), w_SB a given constant.
  AP    positives visited in ascending score order with the running maximum of precision p~;
        ap = 1 - mean p~; g_i = -(1 - p~(i)) / P; negatives get H(s_j - s_i) / rank(i) c_i / P,
        c_i = 1 when prec(i) set the new maximum, else (1 - p~) / (1 - prec). reg = sum over
        positive anchors of smooth L1 (beta 1) of the 4 deltas / (4 max(1, P)) ([A]'s mean reduction).
  focal torchvision's sigmoid focal loss (alpha 0.25, gamma 2) summed over the entries whose
        label is not -1, / max(1, P), + L1 of the positives' deltas / max(1, P).
The ranking losses' logit updates enter the backward as sum(logits * update) (the custom
autograd Function's rule); everything else is autograd in float64.

Positives are picked so that no two positive logits of the batch lie within 2e-3 of each other:
the localisation part's hard order (and AP's running maximum) then cannot flip between the
float32 C graph and this float64 reference.

Cases (metadata "cases"; each has <case>.total, .cls, .loc, .n_pos, .grad_norm and, unless the
case has no positive, <case>.grad.<param> for every trainable parameter):
  alrp_g2   aLRP, rank_group 2 (both images ranked together), w_SB 13.5
  alrp_g1   aLRP, rank_group 1 (each image its own group, the total averaged), w_SB 13.5
  ap        AP Loss, rank_group 2
  focal     focal loss + L1 (the targets are used as they are: the test checks the graph)
  alrp_nopos, ap_nopos  no positive in either image (labels 0 and -1 only): every loss is 0
Shared: images (2, 3, 128, 128), labels (2, 1023, 3) (I64), targets (2, 1023, 4), labels_nopos.
"""
import importlib.util
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_safetensors  # noqa: E402

_spec = importlib.util.spec_from_file_location("gen_ref_model", os.path.join(HERE, "gen-ref-model.py"))
gm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gm)

OUT = {}
META = {}
CASES = []
N, SIZE, A, C = 2, 128, 3, 3
STDS = torch.tensor([0.1, 0.1, 0.2, 0.2], dtype=torch.float64)
MAX_RATIO = abs(torch.log(torch.tensor(16.0 / 1000.0, dtype=torch.float64)).item())
W_SB, DELTA = 13.5, 1.0


def put(name, t):
    OUT[name] = t.detach().clone().float().contiguous() if hasattr(t, "detach") else torch.tensor([t], dtype=torch.float32)


def H(x):
    return torch.clamp(x / (2 * DELTA) + 0.5, 0.0, 1.0)


def alrp_naive(s, y, E):
    """s, y (M,) detached logits and labels, E (P,) detached E_loc of the positives in index
    order -> cls, update (M,), rank (P,)."""
    pos = (y == 1).nonzero()[:, 0]
    P = len(pos)
    g = torch.zeros_like(s)
    if P == 0:
        return torch.zeros((), dtype=s.dtype), g, None
    fg = s[pos]
    negidx = ((y == 0) & (s >= fg.min() - DELTA)).nonzero()[:, 0]
    neg = s[negidx]
    rank = torch.zeros(P, dtype=s.dtype)
    prec = torch.zeros(P, dtype=s.dtype)
    for i in range(P):
        hp = H(fg - fg[i])
        hp[i] = 0.0
        hn = H(neg - fg[i])
        rank_pos = 1.0 + hp.sum()
        nfp = hn.sum()
        rank[i] = rank_pos + nfp
        prec[i] = rank_pos / rank[i]
        if nfp > 1e-5:
            e = (nfp + (hp * E).sum()) / rank[i]
            g[pos[i]] += -e / P
            g[negidx] += (e / P) * hn / nfp
    return 1.0 - prec.mean(), g, rank


def ap_naive(s, y):
    pos = (y == 1).nonzero()[:, 0]
    P = len(pos)
    g = torch.zeros_like(s)
    if P == 0:
        return torch.zeros((), dtype=s.dtype), g
    fg = s[pos]
    negidx = ((y == 0) & (s >= fg.min() - DELTA)).nonzero()[:, 0]
    neg = s[negidx]
    pmax = 0.0
    ptil = torch.zeros(P, dtype=s.dtype)
    for i in torch.argsort(fg, stable=True).tolist():
        hp = H(fg - fg[i])
        hp[i] = 0.0
        hn = H(neg - fg[i])
        rank_pos = 1.0 + hp.sum()
        nfp = hn.sum()
        rank = rank_pos + nfp
        prec = (rank_pos / rank).item()
        if prec >= pmax:
            pmax, c = prec, 1.0
        else:
            c = (1.0 - pmax) / (1.0 - prec)
        ptil[i] = pmax
        g[pos[i]] += -(1.0 - pmax) / P
        g[negidx] += hn / rank * c / P
    return 1.0 - ptil.mean(), g


def decode_unit(d):
    d = d * STDS
    dw = torch.clamp(d[:, 2], -MAX_RATIO, MAX_RATIO)
    dh = torch.clamp(d[:, 3], -MAX_RATIO, MAX_RATIO)
    w, h = torch.exp(dw), torch.exp(dh)
    return torch.stack([d[:, 0] - 0.5 * w, d[:, 1] - 0.5 * h, d[:, 0] + 0.5 * w, d[:, 1] + 0.5 * h], 1)


def giou_err(p, t, eps=1e-7):
    """1 - GIoU (torchvision's generalized_box_iou_loss) of (n, 4) boxes."""
    ix1, iy1 = torch.maximum(p[:, 0], t[:, 0]), torch.maximum(p[:, 1], t[:, 1])
    ix2, iy2 = torch.minimum(p[:, 2], t[:, 2]), torch.minimum(p[:, 3], t[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    area_t = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    union = area_p + area_t - inter
    iou = inter / (union + eps)
    cx1, cy1 = torch.minimum(p[:, 0], t[:, 0]), torch.minimum(p[:, 1], t[:, 1])
    cx2, cy2 = torch.maximum(p[:, 2], t[:, 2]), torch.maximum(p[:, 3], t[:, 3])
    area_c = (cx2 - cx1) * (cy2 - cy1)
    return 1.0 - (iou - (area_c - union) / (area_c + eps))


def loss_of(kind, logits, deltas, labels, targets, rank_group):
    """total, cls, loc, n_pos; the backward of total is the step's gradient."""
    NA = N * logits.shape[1]
    d2, t2 = deltas.reshape(NA, 4), targets.reshape(NA, 4).double()
    lab = labels.reshape(N, -1)
    pos_anchor = (labels == 1).any(2).reshape(NA)
    P = int(pos_anchor.sum())
    if kind == "focal":
        x, y = logits.reshape(-1), lab.reshape(-1)
        t = (y == 1).double()
        p = torch.sigmoid(x)
        ce = nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
        p_t = p * t + (1 - p) * (1 - t)
        fl = (0.25 * t + 0.75 * (1 - t)) * ce * (1 - p_t) ** 2
        cls = (fl * (y >= 0).double()).sum() / max(1, P)
        loc = ((d2 - t2).abs() * pos_anchor.double()[:, None]).sum() / max(1, P)
        return cls + loc, cls, loc, P
    G = N // rank_group
    cls_sum, loc_sum, surrogate = 0.0, 0.0, 0.0
    eloc = giou_err(decode_unit(d2), decode_unit(t2)) if kind == "alrp" else None   # (N A)
    for k in range(G):
        sl = slice(k * rank_group, (k + 1) * rank_group)
        s = logits[sl].reshape(-1)
        y = lab[sl].reshape(-1)
        if kind == "alrp":
            e_all = eloc.reshape(N, -1)[sl].reshape(-1)               # per anchor of the group
            e_entry = e_all.repeat_interleave(C)                       # per (anchor, class) entry
            E = e_entry[y == 1]
            cls_g, upd, rank = alrp_naive(s.detach(), y, E.detach())
            if rank is None:
                loc_g = torch.zeros((), dtype=torch.float64)
            else:
                order = torch.argsort(s.detach()[y == 1], stable=True).flip(0)
                loc_g = (torch.cumsum(E[order], 0) / rank[order]).mean()
            surrogate = surrogate + (s * upd).sum() + W_SB * loc_g
        else:
            cls_g, upd = ap_naive(s.detach(), y)
            loc_g = torch.zeros((), dtype=torch.float64)
            surrogate = surrogate + (s * upd).sum()
        cls_sum = cls_sum + cls_g
        loc_sum = loc_sum + loc_g
    cls, loc = cls_sum / G, loc_sum / G
    if kind == "alrp":
        total = cls + W_SB * loc
        back = surrogate / G
    else:
        sl1 = nn.functional.smooth_l1_loss(d2, t2, reduction="none", beta=1.0)
        loc = (sl1 * pos_anchor.double()[:, None]).sum() / (4 * max(1, P))   # [A]: mean over the 4 P coordinates
        total = cls + loc
        back = surrogate / G + loc
    return total, cls, loc, P, back


def make_labels(logits, gen, n_pos_per_image, n_ign_per_image, min_gap=2e-3):
    """labels (N, A_total, C) int: positives on distinct anchors whose positive logits are at
    least min_gap apart over the whole batch, some ignored anchors, the rest 0."""
    At = logits.shape[1]
    labels = torch.zeros(N, At, C, dtype=torch.int64)
    chosen = []
    for n in range(N):
        perm = torch.randperm(At, generator=gen).tolist()
        k = 0
        used = set()
        for a in perm:
            if k == n_pos_per_image:
                break
            c = int(torch.randint(0, C, (1,), generator=gen))
            v = float(logits[n, a, c])
            if all(abs(v - u) >= min_gap for u in chosen):
                labels[n, a, c] = 1
                chosen.append(v)
                used.add(a)
                k += 1
        assert k == n_pos_per_image, "could not place the positives"
        ign = [a for a in perm[::-1] if a not in used][:n_ign_per_image]
        labels[n, ign, :] = -1
    return labels


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "data", "step.safetensors")
    torch.set_num_threads(2)
    torch.manual_seed(40)
    gen = torch.Generator().manual_seed(41)
    base, fpn_ch, head_ch, n_convs = 4, 16, 16, 2
    bb = gm.RefResNet(gm.RefBasic, [1, 1, 1, 1], 1, 64, base)
    fpn = gm.RefFPN([base * 2, base * 4, base * 8], fpn_ch)
    head = gm.RefHead(fpn_ch, head_ch, n_convs, A, C)
    with torch.no_grad():   # larger head weights and random biases: every term exercised, logits spread
        for m in head.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(10.0)
    gm.randomize_head_biases(fpn, gen)
    gm.randomize_head_biases(head, gen)
    net = gm.RefRetinaNet(bb, fpn, head)
    x = torch.randn(N, 3, SIZE, SIZE, generator=gen)
    gm.randomize_bn(bb, lambda: bb(torch.randn(N, 3, SIZE, SIZE, generator=gen)), gen)
    frozen = ["conv1.", "bn1.", "layer1."]
    for k, p in bb.named_parameters():
        p.requires_grad_(not any(k.startswith(f) for f in frozen))
    for prefix, mod in (("backbone.", bb), ("neck.", fpn), ("bbox_head.", head)):
        for k, v in mod.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                put(prefix + k, v)
    net.double()
    net.train()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    xd = x.double()
    with torch.no_grad():
        _, _, logits0, _ = net(xd)
    At = logits0.shape[1]
    assert At == 3 * (16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1)
    labels = make_labels(logits0, gen, 12, 40)
    labels_nopos = torch.zeros_like(labels)
    labels_nopos[labels == -1] = -1
    targets = torch.randn(N, At, 4, generator=gen) * (labels == 1).any(2, keepdim=True).float()
    put("images", x)
    put("targets", targets)
    OUT["labels"] = labels
    OUT["labels_nopos"] = labels_nopos
    names = {}
    for prefix, mod in (("backbone.", bb), ("neck.", fpn), ("bbox_head.", head)):
        for k, p in mod.named_parameters():
            if p.requires_grad:
                names[prefix + k] = p
    cases = [("alrp_g2", "alrp", 2, labels), ("alrp_g1", "alrp", 1, labels), ("ap", "ap", 2, labels),
             ("focal", "focal", 2, labels), ("alrp_nopos", "alrp", 1, labels_nopos), ("ap_nopos", "ap", 2, labels_nopos)]
    for name, kind, rg, lab in cases:
        net.zero_grad(set_to_none=True)
        _, _, logits, deltas = net(xd)
        r = loss_of(kind, logits, deltas, lab, targets, rg)
        total, cls, loc, P = r[:4]
        back = r[4] if len(r) > 4 else total
        back.backward()
        gsq = 0.0
        for k, p in names.items():
            gr = p.grad if p.grad is not None else torch.zeros_like(p)
            gsq += float((gr * gr).sum())
            if P > 0:
                put(name + ".grad." + k, gr)
        put(name + ".total", torch.tensor([float(total)]))
        put(name + ".cls", torch.tensor([float(cls)]))
        put(name + ".loc", torch.tensor([float(loc)]))
        put(name + ".n_pos", torch.tensor([float(P)]))
        put(name + ".grad_norm", torch.tensor([gsq ** 0.5]))
        CASES.append(name)
        print("  %-10s %-5s rank_group %d: total %.6f cls %.6f loc %.6f P %d |g| %.4e" % (name, kind, rg, float(total), float(cls), float(loc), P, gsq ** 0.5))
    META["format"] = "alrp-ref-step v1"
    META["generator"] = "tools/gen-ref-step.py"
    META["torch"] = torch.__version__
    META["cases"] = " ".join(CASES)
    META["w_sb"] = repr(W_SB)
    ref_safetensors.save(out_path, OUT, META)
    print("wrote %s (%d cases, %d tensors, %d bytes)" % (out_path, len(CASES), len(OUT), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
