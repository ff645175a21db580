#!/usr/bin/python3
"""Writes tests/data/pth/: small PyTorch checkpoints in both of torch.save's formats, with the
outputs PyTorch computes from them, for tests/test-pth.c (which needs no PyTorch).

    /usr/bin/python3 tools/gen-ref-pth.py [DIR]            # DIR: tests/data/pth
    /usr/bin/python3 tools/gen-ref-pth.py --seeds tests/fuzz/corpus-pth
    /usr/bin/python3 tools/gen-ref-pth.py --full OUTDIR    # full-size checks, nothing committed

Needs torch and torchvision (Debian's python3-torch / python3-torchvision). Every network is at
a reduced width (base width 2: the stem's channels and layer1's planes) so the files stay small;
the C model is built with the same widths.

Checkpoints (zip: torch.save to a path, so the top folder is the file's stem, or to a buffer
for "archive/"; legacy: _use_new_zipfile_serialization=False):
  tv_r50.pth, tv_r50_legacy.pth   a torchvision ResNet-50 state dict ([3, 4, 6, 3] bottlenecks,
        made with torchvision's own ResNet class and _make_layer, so every key is torchvision's,
        fc.* and num_batches_tracked included), random init, sane random BN statistics
  a_retinanet.pth, a_retinanet_legacy.pth   [A]: a module with mmdetection's RetinaNet names
        and structure (backbone.*, neck.lateral_convs.i.conv.*, neck.fpn_convs.i.conv.*,
        bbox_head.cls_convs.i.conv.*, bbox_head.reg_convs.i.conv.*, bbox_head.retina_cls.*,
        bbox_head.retina_reg.*), saved in mmdetection's wrapper {"meta", "state_dict",
        "optimizer"} whose meta holds numpy objects (opaque globals for the reader)
  b_seed_legacy.pth, b_seed.pth   [B]: a module with the seed's names and structure (caffe-style
        bottleneck R50 with a conv1 bias, fpn.P3_1 .. P7_2 with P7 on ReLU(P6),
        classificationModel.conv1..4/output, regressionModel.*), saved as
        DataParallel(model).state_dict() (every key "module."); the zip one saved to a buffer
  bad_*.pth   malformed or refused inputs (see the C test)
refs.safetensors: PyTorch's outputs for the fixed inputs (test_input below: tv (1, 3, 64, 96),
a and b (1, 3, 128, 160)), computed in float64 from the stored float32 values: tv.c3 .c4 .c5;
a.c3 .. a.p7, a.logits, a.deltas, a.dets
(n, 6: class, score, x1, y1, x2, y2) after [A]'s post-processing (mmdetection's get_bboxes:
per level top 1000 anchors by best class score, delta decoding with the clamp, clip to the
image, score > 0.05, class-wise NMS 0.5, top 100); b.* the same with [B]'s post-processing
(coco_eval.get_results: per level top 1000 (anchor, class) pairs, > 0.01 on P3-P6 and > 0 on
P7, +1 decoding in double, clip to [0, w - 1], class-wise NMS 0.5, top 100). The test image is
already at the test size (scale 1).

--seeds DIR writes the fuzz harness's seeds (tests/fuzz/corpus-pth).

--full OUTDIR writes full-size random resnet50 and resnext101_32x8d state dicts in both formats
(about 100 MB and 350 MB each), converts each with tools/convert-weights --from torchvision and
checks that every tensor arrives bit for bit under its "backbone." name, that fc.* are the only
unused tensors and num_batches_tracked the only dropped ones; then build/bench/bench-weights
times the loads.
"""
import collections
import copy
import importlib.util
import io
import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import Bottleneck, ResNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_safetensors  # noqa: E402

_spec = importlib.util.spec_from_file_location("gen_ref_model", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-ref-model.py"))
gen_ref_model = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_ref_model)

BASE = 2          # base width of every network here
FPN = 8           # FPN and head channels
CLASSES = 5
RATIOS = [0.5, 1.0, 2.0]
SCALES = 2        # per octave: 6 anchors per location
H, W = 128, 160   # the test image (a multiple of 32, already at the test size)


def tv_resnet(layers, base, groups=1, width_per_group=64, num_classes=10):
    """torchvision's ResNet class at base width `base`, its layers made by its own _make_layer."""
    m = ResNet(Bottleneck, layers, num_classes=num_classes, groups=groups, width_per_group=width_per_group)
    if base != 64:
        m.inplanes = base
        m.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        m.bn1 = nn.BatchNorm2d(base)
        m.layer1 = m._make_layer(Bottleneck, base, layers[0])
        m.layer2 = m._make_layer(Bottleneck, base * 2, layers[1], stride=2)
        m.layer3 = m._make_layer(Bottleneck, base * 4, layers[2], stride=2)
        m.layer4 = m._make_layer(Bottleneck, base * 8, layers[3], stride=2)
        m.fc = nn.Linear(base * 8 * 4, num_classes)
    return m


def randomize(module, calib, gen):
    """Conv weights N(0, 2 / fan_in), biases 0.1 N(0, 1); then gen-ref-model.py's BN statistics
    (one batch, perturbed) and random affine; num_batches_tracked 1000."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
    gen_ref_model.randomize_bn(module, calib, gen)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.num_batches_tracked.fill_(1000)


def backbone_c345(bb, x):
    x = bb.maxpool(bb.relu(bb.bn1(bb.conv1(x))))
    c2 = bb.layer1(x)
    c3 = bb.layer2(c2)
    c4 = bb.layer3(c3)
    return c3, c4, bb.layer4(c4)


# ---- [A]: mmdetection's RetinaNet names and structure ---------------------------------------
class ConvModule(nn.Module):          # mmcv's ConvModule without norm or activation: just .conv
    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2)

    def forward(self, x):
        return self.conv(x)


class ANeck(nn.Module):
    def __init__(self, cins, ch):
        super().__init__()
        self.lateral_convs = nn.ModuleList([ConvModule(c, ch, 1) for c in cins])
        self.fpn_convs = nn.ModuleList([ConvModule(ch, ch, 3) for _ in cins] +
                                       [ConvModule(cins[2], ch, 3, 2), ConvModule(ch, ch, 3, 2)])

    def forward(self, c):
        lat = [l(x) for l, x in zip(self.lateral_convs, c)]
        for i in (1, 0):
            lat[i] = lat[i] + F.interpolate(lat[i + 1], scale_factor=2, mode="nearest")
        p = [self.fpn_convs[i](lat[i]) for i in range(3)]
        p.append(self.fpn_convs[3](c[2]))            # 'on_input': P6 from C5
        p.append(self.fpn_convs[4](p[3]))            # no ReLU before P7
        return p


class AHead(nn.Module):
    def __init__(self, ch, n_anchors, n_classes, n_convs=4):
        super().__init__()
        self.n_classes = n_classes
        self.cls_convs = nn.ModuleList([ConvModule(ch, ch, 3) for _ in range(n_convs)])
        self.reg_convs = nn.ModuleList([ConvModule(ch, ch, 3) for _ in range(n_convs)])
        self.retina_cls = nn.Conv2d(ch, n_anchors * n_classes, 3, padding=1)
        self.retina_reg = nn.Conv2d(ch, n_anchors * 4, 3, padding=1)

    def forward(self, feats):
        cls, reg = [], []
        for f in feats:
            c, r = f, f
            for m in self.cls_convs:
                c = F.relu(m(c))
            for m in self.reg_convs:
                r = F.relu(m(r))
            n = f.shape[0]
            cls.append(self.retina_cls(c).permute(0, 2, 3, 1).reshape(n, -1, self.n_classes))
            reg.append(self.retina_reg(r).permute(0, 2, 3, 1).reshape(n, -1, 4))
        return cls, reg


class ARetinaNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = tv_resnet([3, 4, 6, 3], BASE)
        del self.backbone.fc                           # mmdetection's ResNet has no fc
        e = 4 * BASE
        self.neck = ANeck([2 * e, 4 * e, 8 * e], FPN)
        self.bbox_head = AHead(FPN, len(RATIOS) * SCALES, CLASSES)

    def forward(self, x):
        c = backbone_c345(self.backbone, x)
        p = self.neck(c)
        cls, reg = self.bbox_head(p)
        return c, p, cls, reg


def mmdet_anchors(level_sizes):
    """[A]'s anchors (mmdetection's AnchorGenerator, center offset 0), float32 as PyTorch makes them."""
    out = []
    for l, (fh, fw) in enumerate(level_sizes):
        s = 8 << l
        scales = torch.tensor([4.0 * 2 ** (k / SCALES) for k in range(SCALES)])
        ratios = torch.tensor(RATIOS)
        hr = torch.sqrt(ratios)
        wr = 1 / hr
        ws = (s * wr[:, None] * scales[None, :]).view(-1)
        hs = (s * hr[:, None] * scales[None, :]).view(-1)
        base = torch.stack([-0.5 * ws, -0.5 * hs, 0.5 * ws, 0.5 * hs], dim=-1)
        sx = torch.arange(0, fw) * s
        sy = torch.arange(0, fh) * s
        yy, xx = torch.meshgrid(sy, sx, indexing="ij")
        shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], dim=-1).float()
        out.append((base[None, :, :] + shifts[:, None, :]).view(-1, 4))
    return out


def mmdet_post(cls, reg, anchors, img_h, img_w, nms_pre=1000, score_thr=0.05, iou=0.5, max_per_img=100):
    stds = torch.tensor([0.1, 0.1, 0.2, 0.2])
    max_ratio = abs(math.log(16 / 1000))
    boxes_all, scores_all = [], []
    for c, r, a in zip(cls, reg, anchors):
        s = c.sigmoid()
        if s.shape[0] > nms_pre:
            _, idx = s.max(dim=1)[0].topk(nms_pre)
            s, r, a = s[idx], r[idx], a[idx]
        d = r.double() * stds.double()
        a = a.double()
        px, py = (a[:, 0] + a[:, 2]) * 0.5, (a[:, 1] + a[:, 3]) * 0.5
        pw, ph = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
        dw, dh = d[:, 2].clamp(-max_ratio, max_ratio), d[:, 3].clamp(-max_ratio, max_ratio)
        gw, gh = pw * dw.exp(), ph * dh.exp()
        gx, gy = px + pw * d[:, 0], py + ph * d[:, 1]
        b = torch.stack([gx - gw * 0.5, gy - gh * 0.5, gx + gw * 0.5, gy + gh * 0.5], dim=-1).float()
        b[:, 0::2] = b[:, 0::2].clamp(0, img_w)
        b[:, 1::2] = b[:, 1::2].clamp(0, img_h)
        boxes_all.append(b)
        scores_all.append(s)
    b, s = torch.cat(boxes_all), torch.cat(scores_all)
    valid = s > score_thr
    inds = valid.nonzero()                 # (anchor, class) in anchor order, then class
    boxes, scores, labels = b[inds[:, 0]], s[valid], inds[:, 1]
    keep = torchvision.ops.batched_nms(boxes, scores, labels, iou)[:max_per_img]
    return torch.cat([labels[keep, None].float(), scores[keep, None], boxes[keep]], dim=1)


# ---- [B]: the seed's names and structure ------------------------------------------------------
class CaffeBottleneck(nn.Module):      # [B]'s Bottleneck: the stride in conv1 (1x1)
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class BPyramid(nn.Module):
    def __init__(self, c3, c4, c5, ch):
        super().__init__()
        self.P5_1, self.P5_2 = nn.Conv2d(c5, ch, 1), nn.Conv2d(ch, ch, 3, padding=1)
        self.P4_1, self.P4_2 = nn.Conv2d(c4, ch, 1), nn.Conv2d(ch, ch, 3, padding=1)
        self.P3_1, self.P3_2 = nn.Conv2d(c3, ch, 1), nn.Conv2d(ch, ch, 3, padding=1)
        self.P6 = nn.Conv2d(c5, ch, 3, 2, 1)
        self.P7_1 = nn.ReLU()
        self.P7_2 = nn.Conv2d(ch, ch, 3, 2, 1)

    def forward(self, c):
        c3, c4, c5 = c
        p5 = self.P5_1(c5)
        p4 = self.P4_1(c4) + F.interpolate(p5, scale_factor=2, mode="nearest")
        p3 = self.P3_1(c3) + F.interpolate(p4, scale_factor=2, mode="nearest")
        p6 = self.P6(c5)
        return [self.P3_2(p3), self.P4_2(p4), self.P5_2(p5), p6, self.P7_2(self.P7_1(p6))]


class BHead(nn.Module):
    def __init__(self, ch, out):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1)
        self.conv3, self.conv4 = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1)
        self.output = nn.Conv2d(ch, out, 3, padding=1)

    def forward(self, x):
        for c in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = F.relu(c(x))
        return self.output(x).permute(0, 2, 3, 1)


class BRetinaNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inplanes = BASE
        self.conv1 = nn.Conv2d(3, BASE, 7, 2, 3, bias=True)       # [B]'s R50: a conv1 bias
        self.bn1 = nn.BatchNorm2d(BASE)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(BASE, 3)
        self.layer2 = self._make_layer(BASE * 2, 4, 2)
        self.layer3 = self._make_layer(BASE * 4, 6, 2)
        self.layer4 = self._make_layer(BASE * 8, 3, 2)
        e = 4 * BASE
        self.fpn = BPyramid(2 * e, 4 * e, 8 * e, FPN)
        self.n_anchors = len(RATIOS) * SCALES
        self.regressionModel = BHead(FPN, self.n_anchors * 4)
        self.classificationModel = BHead(FPN, self.n_anchors * CLASSES)

    def _make_layer(self, planes, blocks, stride=1):
        down = None
        if stride != 1 or self.inplanes != planes * 4:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
        layers = [CaffeBottleneck(self.inplanes, planes, stride, down)]
        self.inplanes = planes * 4
        layers += [CaffeBottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        c = backbone_c345(self, x)
        p = self.fpn(c)
        n = x.shape[0]
        cls = [self.classificationModel(f).reshape(n, -1, CLASSES) for f in p]
        reg = [self.regressionModel(f).reshape(n, -1, 4) for f in p]
        return c, p, cls, reg


def seed_anchors(level_sizes):
    """[B]'s anchors (lib/model/anchors.py: generate_anchors and shift, numpy float64)."""
    out = []
    scales = np.array([2 ** (k / SCALES) for k in range(SCALES)]) * 4
    for l, (fh, fw) in enumerate(level_sizes):
        s = 8 << l
        base = np.array([1, 1, s, s], dtype=np.float64) - 1
        w, h = base[2] - base[0] + 1, base[3] - base[1] + 1
        cx, cy = base[0] + 0.5 * (w - 1), base[1] + 0.5 * (h - 1)
        ws = np.sqrt(w * h / np.array(RATIOS))
        hs = ws * np.array(RATIOS)
        ra = np.stack([cx - 0.5 * (ws - 1), cy - 0.5 * (hs - 1), cx + 0.5 * (ws - 1), cy + 0.5 * (hs - 1)], axis=1)
        anchors = []
        for r in ra:
            w1, h1 = r[2] - r[0] + 1, r[3] - r[1] + 1
            c1x, c1y = r[0] + 0.5 * (w1 - 1), r[1] + 0.5 * (h1 - 1)
            ws2, hs2 = w1 * scales, h1 * scales
            anchors.append(np.stack([c1x - 0.5 * (ws2 - 1), c1y - 0.5 * (hs2 - 1), c1x + 0.5 * (ws2 - 1), c1y + 0.5 * (hs2 - 1)], axis=1))
        anchors = np.concatenate(anchors)
        sx, sy = np.meshgrid(np.arange(fw) * s, np.arange(fh) * s)
        shifts = np.stack([sx.ravel(), sy.ravel(), sx.ravel(), sy.ravel()], axis=1)
        out.append(torch.from_numpy((anchors[None] + shifts[:, None]).reshape(-1, 4)))
    return out


def seed_post(cls, reg, anchors, img_h, img_w, nms_pre=1000, iou=0.5, max_per_img=100):
    std = torch.tensor([0.1, 0.1, 0.2, 0.2], dtype=torch.float32)
    boxes, classes, scores = [], [], []
    for l, (c, r, a) in enumerate(zip(cls, reg, anchors)):
        s = torch.sigmoid(c.reshape(-1))
        k = min(nms_pre, s.shape[0])
        os_, oi = s.sort(descending=True)
        os_, oi = os_[:k], oi[:k]
        keep = os_ > (0.01 if l < 4 else 0)
        os_, oi = os_[keep], oi[keep]
        ai, ci = oi // CLASSES, oi % CLASSES
        an, d = a[ai], r[ai].double()
        w, h = an[:, 2] - an[:, 0] + 1.0, an[:, 3] - an[:, 1] + 1.0
        cx, cy = an[:, 0] + 0.5 * (w - 1.0), an[:, 1] + 0.5 * (h - 1.0)
        dx, dy, dw, dh = d[:, 0] * std[0], d[:, 1] * std[1], d[:, 2] * std[2], d[:, 3] * std[3]
        px, py = cx + dx * w, cy + dy * h
        pw, ph = torch.exp(dw) * w, torch.exp(dh) * h
        b = torch.stack([px - 0.5 * torch.clamp(pw - 1.0, min=0), py - 0.5 * torch.clamp(ph - 1.0, min=0),
                         px + 0.5 * torch.clamp(pw - 1.0, min=0), py + 0.5 * torch.clamp(ph - 1.0, min=0)], dim=1)
        b[:, 0] = torch.clamp(b[:, 0], min=0, max=img_w - 1)
        b[:, 1] = torch.clamp(b[:, 1], min=0, max=img_h - 1)
        b[:, 2] = torch.clamp(b[:, 2], min=0, max=img_w - 1)
        b[:, 3] = torch.clamp(b[:, 3], min=0, max=img_h - 1)
        boxes.append(b)
        classes.append(ci)
        scores.append(os_)
    b, c, s = torch.cat(boxes), torch.cat(classes), torch.cat(scores)
    keep = torchvision.ops.boxes.batched_nms(b, s.double(), c, iou)[:max_per_img]   # [B]: double boxes
    return torch.cat([c[keep, None].double(), s[keep, None].double(), b[keep]], dim=1).float()


# ---- writing --------------------------------------------------------------------------------
def save_both(obj, path_zip, path_legacy, to_buffer=False):
    if to_buffer:
        buf = io.BytesIO()
        torch.save(obj, buf)
        with open(path_zip, "wb") as f:
            f.write(buf.getvalue())
    else:
        torch.save(obj, path_zip)
    torch.save(obj, path_legacy, _use_new_zipfile_serialization=False)


def test_input(*shape):
    """the fixed input, computed exactly alike in C (tests/test-pth.c): value i of the flattened
    tensor is ((i * 40503 + 12345) mod 65521) / 16384 - 2, a float32 in [-2, 2)"""
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return torch.from_numpy((((i * 40503 + 12345) % 65521) / 16384.0 - 2.0).astype(np.float32).reshape(shape))


def calibrate_head(model, x, cls_out, reg_out):
    """output convs scaled so that the logits are ~N(-1, 1.5) and the deltas ~N(0, 0.5): scores
    spread over (0, 1), many above the thresholds, and no two alike"""
    with torch.no_grad():
        for conv, outs, mean, std in ((cls_out, 2, -1.0, 1.5), (reg_out, 3, 0.0, 0.5)):
            y = torch.cat(model(x)[outs], 1)
            k = std / float(y.std())
            conv.weight.mul_(k)
            conv.bias.mul_(k).add_(mean - k * float(y.mean()))


def level_sizes():
    return [((H + (8 << l) - 1) // (8 << l), (W + (8 << l) - 1) // (8 << l)) for l in range(5)]


def detector_refs(refs, prefix, model, x, post):
    """prefix.c3 .. .c5, .p3 .. .p7, .logits, .deltas (float64 from the float32 weights) and
    prefix.dets (post-processing of image 0's float32 outputs)"""
    md = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        c, p, cls, reg = md(x.double())
    for i in range(3):
        refs["%s.c%d" % (prefix, i + 3)] = c[i].float()
    for i in range(5):
        refs["%s.p%d" % (prefix, i + 3)] = p[i].float()
    refs[prefix + ".logits"] = torch.cat(cls, 1).float()
    refs[prefix + ".deltas"] = torch.cat(reg, 1).float()
    dets = post([t[0].float() for t in cls], [t[0].float() for t in reg])
    refs[prefix + ".dets"] = dets
    print("%s: %d detections, scores %.4f .. %.4f" % (prefix, dets.shape[0], dets[:, 1].max(), dets[:, 1].min()))


def write_small(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(11)
    refs = collections.OrderedDict()

    # torchvision ResNet-50 at base width 2
    tv = tv_resnet([3, 4, 6, 3], BASE)
    x = test_input(1, 3, 64, 96)
    randomize(tv, lambda: tv(torch.randn(4, 3, 64, 96, generator=gen)), gen)
    save_both(tv.state_dict(), os.path.join(out_dir, "tv_r50.pth"), os.path.join(out_dir, "tv_r50_legacy.pth"))
    tvd = copy.deepcopy(tv).double().eval()
    with torch.no_grad():
        c = backbone_c345(tvd, x.double())
    for i in range(3):
        refs["tv.c%d" % (i + 3)] = c[i].float()

    # [A]
    a = ARetinaNet()
    xa = test_input(1, 3, H, W)
    randomize(a, lambda: a(torch.randn(2, 3, H, W, generator=gen)), gen)
    with torch.no_grad():
        for m in list(a.neck.modules()) + list(a.bbox_head.modules()):
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
    calibrate_head(a, xa, a.bbox_head.retina_cls, a.bbox_head.retina_reg)
    meta = {"mmdet_version": "2.6.0", "CLASSES": tuple("c%d" % i for i in range(CLASSES)), "epoch": 100, "iter": 366500,
            "config": "model = dict(type='RetinaNet')", "time": "Sat Oct 24 2020", "np_scalar": np.float64(0.5),
            "np_array": np.arange(3), "hook_msgs": {"last_ckpt": "work_dirs/epoch_100.pth"}}
    optimizer = {"state": {}, "param_groups": [{"lr": 0.008, "momentum": 0.9, "weight_decay": 0.0001, "params": [0, 1, 2]}]}
    ckpt = {"meta": meta, "state_dict": a.state_dict(), "optimizer": optimizer}
    save_both(ckpt, os.path.join(out_dir, "a_retinanet.pth"), os.path.join(out_dir, "a_retinanet_legacy.pth"))
    detector_refs(refs, "a", a, xa, lambda cls, reg: mmdet_post(cls, reg, mmdet_anchors(level_sizes()), H, W))

    # [B]
    b = BRetinaNet()
    xb = test_input(1, 3, H, W)
    randomize(b, lambda: b(torch.randn(2, 3, H, W, generator=gen)), gen)
    with torch.no_grad():
        for m in list(b.fpn.modules()) + list(b.classificationModel.modules()) + list(b.regressionModel.modules()):
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
    calibrate_head(b, xb, b.classificationModel.output, b.regressionModel.output)
    sd = nn.DataParallel(b).state_dict()
    assert all(k.startswith("module.") for k in sd)
    save_both(sd, os.path.join(out_dir, "b_seed.pth"), os.path.join(out_dir, "b_seed_legacy.pth"), to_buffer=True)
    detector_refs(refs, "b", b, xb, lambda cls, reg: seed_post(cls, reg, seed_anchors(level_sizes()), H, W))

    write_bad(out_dir)
    meta = {"base_width": str(BASE), "fpn_channels": str(FPN), "classes": str(CLASSES), "image": "%dx%d" % (H, W)}
    ref_safetensors.save(os.path.join(out_dir, "refs.safetensors"), refs, meta)
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print("wrote %s: %d files, %.0f KB" % (out_dir, len(os.listdir(out_dir)), total / 1024))


def write_bad(out_dir):
    """the malformed and refused inputs of tests/test-pth.c"""
    small = collections.OrderedDict([("w", torch.arange(6, dtype=torch.float32).reshape(2, 3)), ("b", torch.ones(3))])
    torch.save(small, os.path.join(out_dir, "bad_small.pth"))   # the base of the hand-made ones
    # an unknown global (a numpy array) where a tensor should be
    torch.save(collections.OrderedDict([("w", torch.zeros(2)), ("b", np.zeros(3, dtype=np.float32))]),
               os.path.join(out_dir, "bad_numpy.pth"))
    # a storage shorter than its tensor: the zip rewritten with storage 0 cut to 8 of 24 bytes
    src = os.path.join(out_dir, "bad_small.pth")
    with zipfile.ZipFile(src) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(os.path.join(out_dir, "bad_short_storage.pth"), "w", zipfile.ZIP_STORED) as z:
        for name, data in items:
            z.writestr(name.replace("bad_small/", "bad_short_storage/"), data[:8] if name.endswith("/data/0") else data)
    # models this project does not build
    torch.save(collections.OrderedDict([("backbone.conv1.weight", torch.zeros(1)), ("rpn_head.rpn_conv.weight", torch.zeros(1)),
                                        ("roi_head.bbox_head.fc_cls.weight", torch.zeros(1))]), os.path.join(out_dir, "bad_faster_rcnn.pth"))
    torch.save({"state_dict": collections.OrderedDict([("backbone.layer2.0.conv2.weight", torch.zeros(1)),
                                                       ("backbone.layer2.0.conv2.conv_offset.weight", torch.zeros(1))])},
               os.path.join(out_dir, "bad_dcn.pth"), _use_new_zipfile_serialization=False)
    os.remove(src)
    with open(os.path.join(out_dir, "bad_small.pth"), "wb") as f:   # kept: the C test cuts and flips it
        buf = io.BytesIO()
        torch.save(small, buf)
        f.write(buf.getvalue())


def write_seeds(out_dir):
    """the fuzz harness's seeds (tests/fuzz/corpus-pth), each well under 2 KB"""
    os.makedirs(out_dir, exist_ok=True)
    sd = collections.OrderedDict([("conv.weight", torch.arange(6, dtype=torch.float32).reshape(2, 3)), ("h", torch.ones(2).half()),
                                  ("n", torch.tensor(7)), ("t", torch.arange(6, dtype=torch.float32).reshape(2, 3).t())])
    buf = io.BytesIO()
    torch.save(sd, buf)
    with open(os.path.join(out_dir, "zip"), "wb") as f:
        f.write(buf.getvalue())
    torch.save(sd, os.path.join(out_dir, "legacy"), _use_new_zipfile_serialization=False)
    torch.save(nn.DataParallel(nn.Conv2d(1, 1, 1)).state_dict(), os.path.join(out_dir, "module-prefix"), _use_new_zipfile_serialization=False)
    torch.save({"meta": {"np": np.float64(1.5), "CLASSES": ("a", "b"), "e": 1}, "state_dict": nn.Conv2d(1, 2, 1).state_dict(),
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}}, os.path.join(out_dir, "mmdet-wrapper"),
               _use_new_zipfile_serialization=False)
    torch.save({"w": np.zeros(2, dtype=np.float32)}, os.path.join(out_dir, "numpy-value"), _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(os.path.join(out_dir, "short-storage"), "w", zipfile.ZIP_STORED) as z:
        for name, data in items:
            z.writestr(name, data[:4] if name.endswith("/data/0") else data)


def write_full(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    conv = os.path.join(here, "convert-weights")
    for arch in ("resnet50", "resnext101_32x8d"):
        torch.manual_seed(0)
        sd = getattr(torchvision.models, arch)().state_dict()
        for fmt in ("zip", "legacy"):
            path = os.path.join(out_dir, "%s_%s.pth" % (arch, fmt))
            torch.save(sd, path, _use_new_zipfile_serialization=fmt == "zip")
            out = path[:-4] + ".safetensors"
            r = subprocess.run([conv, path, out, "--from", "torchvision"], capture_output=True, text=True)
            print(r.stdout.strip(), r.stderr.strip())
            if r.returncode != 0:
                sys.exit("convert-weights failed on %s" % path)
            got = ref_safetensors.load(out)
            want = {("backbone." + k): v.numpy() for k, v in sd.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
            bad = [k for k in want if k not in got or got[k].dtype != want[k].dtype or got[k].shape != want[k].shape or
                   got[k].tobytes() != want[k].tobytes()]
            extra = [k for k in got if k not in want]
            print("%s (%s, %.0f MB): %d tensors, %d differ, %d extra" % (arch, fmt, os.path.getsize(path) / 1e6, len(want), len(bad), len(extra)))
            if bad or extra:
                sys.exit("not bit for bit: %s %s" % (bad[:3], extra[:3]))
    bench = os.path.join(here, "..", "build", "bench", "bench-weights")
    if os.path.exists(bench):
        subprocess.run([bench, out_dir])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--full":
        write_full(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "--seeds":
        write_seeds(sys.argv[2])
    else:
        write_small(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "pth"))
