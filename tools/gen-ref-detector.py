#!/usr/bin/env python3
"""Reference tensors for the detector's host-side stages (tests/test-anchors.c, test-assign.c,
test-nms.c): writes tests/data/detector-host.safetensors.

Run from the repository root with the Python that has PyTorch and torchvision:
    /usr/bin/python3 tools/gen-ref-detector.py

What the official aLRP Loss code runs (mmdetection v2 with mmcv) is re-implemented here in
PyTorch from its algorithm, step by step and in float32 like the original, so that the C code can
be compared to it exactly:
  * the anchor generator (base anchors from octave_base_scale / scales_per_octave / ratios, centre
    offset 0, ratio outer and scale inner, shifted over the grid, level by level);
  * bbox_overlaps (IoU with eps 1e-6 on the union; checked against torchvision.ops.box_iou);
  * the MaxIoU assigner (0.5 / 0.4 / min_pos_iou 0, every anchor tied at a gt's max goes to it,
    gts in order) and the ATSS assigner (topk 9 per level by centre distance, mean + std
    threshold, centre inside the gt, highest IoU wins), the delta coder's encode;
  * NMS (torchvision.ops.nms), class-wise NMS with mmcv's offset trick, and RetinaNet's
    get_bboxes (per-level top nms_pre, decode, clip, rescale, score threshold, class-wise NMS,
    max_per_img).
Decisions the C code documents and this file follows: ATSS's top-k takes the lower anchor index
among equal distances (torch.topk leaves that unspecified, see the check below), and so does the
per-level top nms_pre among equal scores; the decode is done in float64 and rounded to float32,
as alrp.h's alrp_box_decode_f32 does (mmdet decodes in float32; the difference is a rounding).
The generator also checks that the ATSS threshold computed in float64 gives the same assignment
as float32, so no case sits on a rounding boundary.

Deterministic (fixed seeds); the file is about 150 KB.
"""
import math
import os
import sys

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from ref_safetensors import save  # noqa: E402

F = torch.float32
out = {}


# ---- anchors ------------------------------------------------------------------------------------
STRIDES = [8, 16, 32, 64, 128]
CONFIGS = {  # anchors per location -> (ratios, scales_per_octave)
    6: ([0.5, 1.0, 2.0], 2),
    2: ([1.0], 2),
    3: ([1.0], 3),
    9: ([0.5, 1.0, 2.0], 3),
}


def base_anchors(stride, ratios, spo, octave_base_scale=4):
    # numpy float64 octave scales, then a float32 tensor, as the generator's constructor does
    scales = torch.tensor([2 ** (i / spo) * octave_base_scale for i in range(spo)], dtype=torch.float64).to(F)
    ratios = torch.tensor(ratios, dtype=F)
    w = h = stride
    x_c = y_c = 0.0 * w                        # center_offset 0
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    ws = (w * w_ratios[:, None] * scales[None, :]).view(-1)   # ratio outer, scale inner
    hs = (h * h_ratios[:, None] * scales[None, :]).view(-1)
    return torch.stack([x_c - 0.5 * ws, y_c - 0.5 * hs, x_c + 0.5 * ws, y_c + 0.5 * hs], dim=-1)


def grid_anchors(per_loc, feats):
    ratios, spo = CONFIGS[per_loc]
    levels = []
    for stride, (fh, fw) in zip(STRIDES, feats):
        base = base_anchors(stride, ratios, spo)
        shift_x = torch.arange(0, fw) * stride
        shift_y = torch.arange(0, fh) * stride
        xx = shift_x.repeat(len(shift_y))
        yy = shift_y.view(-1, 1).repeat(1, len(shift_x)).view(-1)
        shifts = torch.stack([xx, yy, xx, yy], dim=-1).type_as(base)
        levels.append((base[None, :, :] + shifts[:, None, :]).view(-1, 4))
    return levels


def feat_sizes(h, w):
    return [((h + s - 1) // s, (w + s - 1) // s) for s in STRIDES]


def centres(anchors):
    return torch.stack([(anchors[:, 0] + anchors[:, 2]) / 2.0, (anchors[:, 1] + anchors[:, 3]) / 2.0], dim=1)


g = torch.Generator().manual_seed(20201022)
tiny = [(3, 4), (2, 2), (1, 2), (1, 1), (1, 1)]
for per_loc in CONFIGS:
    out["anchors.tiny.%d" % per_loc] = torch.cat(grid_anchors(per_loc, tiny))
for per_loc, (h, w) in [(6, (512, 512)), (2, (512, 512)), (9, (512, 512)), (3, (800, 1216))]:
    a = torch.cat(grid_anchors(per_loc, feat_sizes(h, w)))
    idx = torch.cat([torch.tensor([0, a.shape[0] - 1]), torch.randint(0, a.shape[0], (126,), generator=g)])
    out["anchors.big.%d.idx" % per_loc] = idx
    out["anchors.big.%d.boxes" % per_loc] = a[idx]
    out["anchors.big.%d.n" % per_loc] = torch.tensor([a.shape[0]])


# ---- IoU ----------------------------------------------------------------------------------------
def bbox_overlaps(b1, b2, eps=1e-6):
    lt = torch.max(b1[:, None, :2], b2[:, :2])
    rb = torch.min(b1[:, None, 2:], b2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, :, 0] * wh[:, :, 1]
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    union = area1[:, None] + area2 - overlap
    union = torch.max(union, union.new_tensor([eps]))
    return overlap / union


def rand_boxes(n, lo, hi, wmin, wmax, gen):
    xy = lo + torch.rand(n, 2, generator=gen) * (hi - lo)
    wh = wmin + torch.rand(n, 2, generator=gen) * (wmax - wmin)
    return torch.cat([xy, xy + wh], dim=1).to(F)


b1 = rand_boxes(16, 0, 60, 1, 40, g)
b2 = rand_boxes(24, 0, 60, 1, 40, g)
b2[0] = b1[0]                                     # identical
b2[1] = torch.tensor([b1[1, 2], b1[1, 1], b1[1, 2] + 5, b1[1, 3]])   # touching
b2[2] = torch.tensor([5.0, 5.0, 5.0, 9.0])        # zero area
b2[3] = torch.tensor([200.0, 200.0, 210.0, 220.0])  # far away
iou = bbox_overlaps(b1, b2)
assert torch.allclose(iou, torchvision.ops.box_iou(b1, b2), atol=1e-6), "bbox_overlaps vs torchvision box_iou"
out["iou.boxes1"], out["iou.boxes2"], out["iou.iou"] = b1, b2, iou


# ---- assigners ----------------------------------------------------------------------------------
def maxiou_assign(anchors, gts, pos=0.5, neg=0.4, min_pos=0.0):
    """mmdet codes: -1 ignored, 0 negative, i + 1 gt i. Returns (codes, max_overlaps)."""
    n, k = anchors.shape[0], gts.shape[0]
    assigned = torch.full((n,), -1, dtype=torch.long)
    if k == 0:
        return assigned.fill_(0), torch.zeros(n)
    ov = bbox_overlaps(gts, anchors)             # (k, n)
    max_ov, argmax_ov = ov.max(dim=0)
    gt_max, _ = ov.max(dim=1)
    assigned[(max_ov >= 0) & (max_ov < neg)] = 0
    p = max_ov >= pos
    assigned[p] = argmax_ov[p] + 1
    for i in range(k):
        if gt_max[i] >= min_pos:
            assigned[ov[i, :] == gt_max[i]] = i + 1
    return assigned, max_ov


def topk_smallest(d, k):
    """the k smallest of each column, ties to the lower index (stable sort)"""
    return torch.sort(d, dim=0, stable=True)[1][:k]


topk_ties_differ = [0]


def atss_assign(anchors, num_level, gts, topk=9, thr_dtype=F):
    """mmdet codes: 0 negative, i + 1 gt i."""
    INF = 100000000
    n, k = anchors.shape[0], gts.shape[0]
    assigned = torch.zeros(n, dtype=torch.long)
    if k == 0:
        return assigned
    ov = bbox_overlaps(anchors, gts)             # (n, k)
    gt_pts = torch.stack([(gts[:, 0] + gts[:, 2]) / 2.0, (gts[:, 1] + gts[:, 3]) / 2.0], dim=1)
    a_pts = centres(anchors)
    dist = (a_pts[:, None, :] - gt_pts[None, :, :]).pow(2).sum(-1).sqrt()
    cand, start = [], 0
    for nl in num_level:
        d = dist[start:start + nl]
        kk = min(topk, nl)
        idx = topk_smallest(d, kk)
        _, idx_t = d.topk(kk, dim=0, largest=False)
        if not torch.equal(idx.sort(0)[0], idx_t.sort(0)[0]):
            topk_ties_differ[0] += 1
        cand.append(idx + start)
        start += nl
    cand = torch.cat(cand, dim=0)                # (K, k)
    c_ov = ov[cand, torch.arange(k)]
    c64 = c_ov.to(thr_dtype)
    thr = c64.mean(0) + c64.std(0)
    is_pos = c64 >= thr[None, :]
    ep_cx = a_pts[:, 0]
    ep_cy = a_pts[:, 1]
    l_ = ep_cx[cand] - gts[:, 0]
    t_ = ep_cy[cand] - gts[:, 1]
    r_ = gts[:, 2] - ep_cx[cand]
    b_ = gts[:, 3] - ep_cy[cand]
    in_gt = torch.stack([l_, t_, r_, b_], dim=1).min(dim=1)[0] > 0.01
    is_pos = is_pos & in_gt
    ov_inf = torch.full_like(ov, -INF).t().contiguous().view(-1)
    flat = (cand + torch.arange(k)[None, :] * n).view(-1)[is_pos.view(-1)]
    ov_inf[flat] = ov.t().contiguous().view(-1)[flat]
    ov_inf = ov_inf.view(k, -1).t()
    m, am = ov_inf.max(dim=1)
    assigned[m != -INF] = am[m != -INF] + 1
    return assigned


def encode(anchors, gts, stds):
    px = (anchors[:, 0] + anchors[:, 2]) * 0.5
    py = (anchors[:, 1] + anchors[:, 3]) * 0.5
    pw = anchors[:, 2] - anchors[:, 0]
    ph = anchors[:, 3] - anchors[:, 1]
    gx = (gts[:, 0] + gts[:, 2]) * 0.5
    gy = (gts[:, 1] + gts[:, 3]) * 0.5
    gw = gts[:, 2] - gts[:, 0]
    gh = gts[:, 3] - gts[:, 1]
    d = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1)
    return d / torch.tensor(stds, dtype=F)


def keep_gts(gts):
    w, h = gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]
    return torch.nonzero((w >= 1) & (h >= 1) & (w * h > 0)).view(-1)


# torch's first-maximum rule, which both assigners rely on
assert torch.tensor([[0.5, 0.7, 0.7], [0.2, 0.7, 0.1]]).max(dim=1)[1].tolist() == [1, 1]
assert torch.tensor([[0.0, 0.3], [0.0, 0.3]]).max(dim=0)[1].tolist() == [0, 0]


def assign_case(name, method, per_loc, h, w, gts, classes, n_classes, stds, gen_note):
    levels = grid_anchors(per_loc, feat_sizes(h, w))
    anchors = torch.cat(levels)
    keep = keep_gts(gts)
    kg = gts[keep]
    if method == "maxiou":
        codes, max_ov = maxiou_assign(anchors, kg)
        gt_ind = torch.where(codes > 0, keep[(codes - 1).clamp(min=0)], torch.where(codes == 0, -1, -2))
        out[name + ".max_iou"] = max_ov
    else:
        codes = atss_assign(anchors, [l.shape[0] for l in levels], kg)
        codes64 = atss_assign(anchors, [l.shape[0] for l in levels], kg, thr_dtype=torch.float64)
        assert torch.equal(codes, codes64), name + ": the float32 and float64 thresholds disagree"
        gt_ind = torch.where(codes > 0, keep[(codes - 1).clamp(min=0)], -1)
    pos = torch.nonzero(gt_ind >= 0).view(-1)
    out[name + ".gts"] = gts
    out[name + ".classes"] = classes
    out[name + ".gt_ind"] = gt_ind.to(F)       # small integers, exact in F32 (half the size of I64)
    out[name + ".pos_deltas"] = encode(anchors[pos], gts[gt_ind[pos]], stds)
    out[name + ".params"] = torch.tensor([per_loc, h, w, n_classes] + list(stds), dtype=F)
    n_pos, n_ign = int(pos.numel()), int((gt_ind == -2).sum())
    print("%-14s %5d anchors, %2d gts (%d kept): %4d positive, %4d ignored  %s" % (
        name, anchors.shape[0], gts.shape[0], keep.numel(), n_pos, n_ign, gen_note))


# MaxIoU, 6 anchors, 192 x 160: random gts plus grid-aligned ones (exact IoU ties), a tiny one, a
# whole-image one, a duplicate (the later gt takes the shared anchors), one half outside and two
# degenerate ones (dropped)
gm = torch.Generator().manual_seed(7)
gts = rand_boxes(12, 0, 150, 6, 90, gm)
extra = torch.tensor([
    [16, 16, 48, 48],       # exactly a 32 x 32 anchor at (32, 32): IoU 1
    [4, 60, 36, 92],        # 32 x 32 centred on (20, 76): ties between anchors at 16 and 24
    [100, 100, 103, 103],   # tiny
    [0, 0, 160, 192],       # the whole image
    [30, 110, 90, 150],     # a duplicate, below
    [140, 170, 200, 230],   # half outside
    [50, 50, 50.5, 80],     # degenerate: width 0.5
    [70, 20, 90, 20],       # degenerate: height 0
], dtype=F)
extra = torch.cat([extra, extra[4:5]])
gts = torch.cat([gts[:6], extra, gts[6:]])
cls = torch.randint(0, 5, (gts.shape[0],), generator=gm)
assign_case("maxiou", "maxiou", 6, 192, 160, gts, cls, 5, (0.1, 0.1, 0.2, 0.2), "(stds 0.1 0.1 0.2 0.2)")

# ATSS, 2 anchors, 256 x 192 (x is 192 wide): random gts plus centres on grid points and on cell
# midpoints (equal distances), two nearly identical gts (anchors claimed by both), a gt smaller
# than every anchor
ga = torch.Generator().manual_seed(11)
gts = rand_boxes(10, 0, 180, 8, 120, ga)
extra = torch.tensor([
    [52, 52, 76, 76],       # centre (64, 64): on a P3 grid point
    [100, 20, 140, 60],     # centre (120, 40): midpoints at P4
    [101, 21, 141, 61],     # almost the same gt
    [60.5, 150.5, 62.5, 152.5],   # 2 x 2: smaller than every anchor
    [0, 0, 192, 256],       # the whole image
    [150, 200, 150.9, 240], # degenerate: width 0.9
], dtype=F)
gts = torch.cat([gts[:5], extra, gts[5:]])
cls = torch.randint(0, 80, (gts.shape[0],), generator=ga)
assign_case("atss2", "atss", 2, 256, 192, gts, cls, 80, (0.1, 0.1, 0.2, 0.2), "(stds 0.1 0.1 0.2 0.2)")

# ATSS, 3 anchors, 192 x 160, focal-loss stds
gb = torch.Generator().manual_seed(13)
gts = rand_boxes(14, 0, 150, 4, 100, gb)
gts = torch.cat([gts, torch.tensor([[40, 40, 56, 56], [44, 40, 60, 56]], dtype=F)])
cls = torch.randint(0, 3, (gts.shape[0],), generator=gb)
assign_case("atss3", "atss", 3, 192, 160, gts, cls, 3, (1.0, 1.0, 1.0, 1.0), "(stds 1 1 1 1)")
print("ATSS top-k: torch.topk picked other tied anchors than the lowest indices in %d (gt, level) groups"
      % topk_ties_differ[0])


# ---- NMS ----------------------------------------------------------------------------------------
def batched_nms(boxes, scores, idxs, iou):
    """mmcv's batched_nms (the offset trick) on torchvision's nms"""
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + 1)
    return torchvision.ops.nms(boxes + offsets[:, None], scores, iou)


def stable_nms(boxes, scores, iou):
    """the greedy loop written out, to pin down torchvision's order on ties"""
    order = torch.sort(scores, descending=True, stable=True)[1]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    supp = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for p in range(len(order)):
        i = order[p]
        if supp[i]:
            continue
        keep.append(int(i))
        for q in range(p + 1, len(order)):
            j = order[q]
            if supp[j]:
                continue
            lt = torch.max(boxes[i, :2], boxes[j, :2])
            rb = torch.min(boxes[i, 2:], boxes[j, 2:])
            wh = (rb - lt).clamp(min=0)
            inter = wh[0] * wh[1]
            if float(inter / (areas[i] + areas[j] - inter)) > iou:
                supp[j] = True
    return torch.tensor(keep, dtype=torch.long)


gn = torch.Generator().manual_seed(17)
boxes = rand_boxes(160, 0, 100, 2, 30, gn)
scores = (torch.rand(160, generator=gn) * 20).floor() / 20      # many exact ties
boxes[10] = boxes[3]                                             # identical boxes, tied scores
scores[10] = scores[3]
boxes[11] = torch.tensor([5.0, 5.0, 5.0, 9.0])                   # zero area (0 / 0 with itself's twin)
boxes[12] = boxes[11]
out["nms.boxes"], out["nms.scores"] = boxes, scores
for thr in (0.5, 0.3, 0.7):
    k = torchvision.ops.nms(boxes, scores, thr)
    assert torch.equal(k, stable_nms(boxes, scores, thr)), "torchvision nms is not the stable greedy loop"
    out["nms.keep.%g" % thr] = k
cls = torch.randint(0, 2, (160,), generator=gn)    # two classes: suppressions within each
out["nms.classes"] = cls
out["nms.batched.keep"] = batched_nms(boxes, scores, cls, 0.5)
neg = boxes - 40.0                                               # negative coordinates: classes can overlap
out["nms.neg_boxes"] = neg
out["nms.batched_neg.keep"] = batched_nms(neg, scores, cls, 0.5)


# ---- RetinaNet post-processing ------------------------------------------------------------------
MAX_RATIO = abs(math.log(16 / 1000))


def decode(anchors, deltas, stds, max_shape):
    """DeltaXYWHBBoxCoder.decode in float64 (as alrp.h), rounded to float32, then clipped"""
    a, d = anchors.double(), deltas.double() * torch.tensor(stds, dtype=F).double()
    dw, dh = d[:, 2].clamp(-MAX_RATIO, MAX_RATIO), d[:, 3].clamp(-MAX_RATIO, MAX_RATIO)
    px, py = 0.5 * (a[:, 0] + a[:, 2]), 0.5 * (a[:, 1] + a[:, 3])
    pw, ph = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    gx, gy = px + pw * d[:, 0], py + ph * d[:, 1]
    gw, gh = pw * dw.exp(), ph * dh.exp()
    b = torch.stack([gx - 0.5 * gw, gy - 0.5 * gh, gx + 0.5 * gw, gy + 0.5 * gh], dim=-1).to(F)
    h, w = max_shape
    return torch.stack([b[:, 0].clamp(min=0, max=w), b[:, 1].clamp(min=0, max=h),
                        b[:, 2].clamp(min=0, max=w), b[:, 3].clamp(min=0, max=h)], dim=-1)


def get_bboxes(levels, logits, deltas, img_shape, scale_factor, nms_pre, score_thr, iou, max_per_img, stds):
    mlvl_bboxes, mlvl_scores, start = [], [], 0
    for anchors in levels:
        nl = anchors.shape[0]
        scores = logits[start:start + nl].sigmoid()
        reg = deltas[start:start + nl]
        start += nl
        if nms_pre > 0 and scores.shape[0] > nms_pre:
            max_scores, _ = scores.max(dim=1)
            topk = torch.sort(max_scores, descending=True, stable=True)[1][:nms_pre]
            anchors, reg, scores = anchors[topk], reg[topk], scores[topk]
        mlvl_bboxes.append(decode(anchors, reg, stds, img_shape))
        mlvl_scores.append(scores)
    bboxes = torch.cat(mlvl_bboxes) / torch.tensor(scale_factor, dtype=F)
    scores = torch.cat(mlvl_scores)
    n_cls = scores.shape[1]
    valid = scores > score_thr
    cand = bboxes[:, None].expand(-1, n_cls, 4)[valid]
    cs = scores[valid]
    labels = valid.nonzero()[:, 1]
    keep = batched_nms(cand, cs, labels, iou)[:max_per_img]
    return labels[keep], cs[keep], cand[keep]


gp = torch.Generator().manual_seed(19)
orig_w, orig_h, sw, sh = 200, 150, 0.64, 0.64          # resized to 128 x 96
levels = grid_anchors(6, feat_sizes(96, 128))
n_anchors = sum(l.shape[0] for l in levels)
C = 4
logits = (torch.randn(n_anchors, C, generator=gp) * 2.5 - 3.0).to(F)
logits[40] = logits[7]                                  # equal scores on different anchors
logits[1200] = logits[1201]
deltas = torch.randn(n_anchors, 4, generator=gp).to(F)
out["post.logits"], out["post.deltas"] = logits, deltas
for case, (nms_pre, thr, iou, mx) in {"a": (1000, 0.05, 0.5, 100), "b": (50, 0.2, 0.6, 30)}.items():
    lab, sc, bx = get_bboxes(levels, logits, deltas, (96, 128), [sw, sh, sw, sh], nms_pre, thr, iou, mx, (0.1, 0.1, 0.2, 0.2))
    out["post.%s.params" % case] = torch.tensor([nms_pre, thr, iou, mx, 128, 96, sw, sh], dtype=torch.float64)
    out["post.%s.classes" % case] = lab
    out["post.%s.scores" % case] = sc
    out["post.%s.boxes" % case] = bx
    print("post %s: %d anchors x %d classes -> %d detections" % (case, n_anchors, C, lab.numel()))

path = os.path.join(ROOT, "tests", "data", "detector-host.safetensors")
save(path, out, metadata={"generator": "tools/gen-ref-detector.py", "torch": torch.__version__,
                          "torchvision": torchvision.__version__})
print("wrote %s (%d tensors, %d bytes)" % (os.path.relpath(path, ROOT), len(out), os.path.getsize(path)))
