#!/usr/bin/python3
"""Writes tests/data/model.safetensors: PyTorch references for the detector's networks
(detector/model-*.c), checked by tests/test-model.c.

    /usr/bin/python3 tools/gen-ref-model.py [out.safetensors]

Needs torch and torchvision. Every tensor is F32 in PyTorch's layout. Weights are stored under the
names the C model gives them, so the test loads them by name as it would load a checkpoint.

The reference ResNet (RefResNet below) is torchvision's ResNet structure and parameter names with
one more knob, the base width (64 in torchvision: the stem's channels and layer1's planes; the
planes double per stage). Before anything is written, the script checks that at base width 64 it
IS torchvision's network: for resnet18, resnet50, resnet101, resnext101_32x8d and
resnext101_64x4d the state-dict names and shapes are identical, and with torchvision's weights
loaded (random BN statistics, eval mode) the outputs of layer2, layer3 and layer4 are equal. So the
reduced-width networks stored here are trustworthy stand-ins for the full ones, which would be
too large for the repository (ResNet-50 alone is 100 MB).

The references are computed in float64 from the stored float32 values (weights and inputs are
f32, the arithmetic is double), so they are the exact answers up to f32 rounding of the result.
PyTorch's own float32 gradients are not: through the 16 blocks of the reduced ResNet-50 its
layer2/layer3 weight gradients differ from the float64 ones by up to 1e-2 of their largest value.

BN statistics are random but sane: one forward in train mode with momentum 1 sets each BN's
running statistics to the batch statistics of a random image, then they are perturbed
(mean += 0.1 sqrt(var) N(0, 1), var *= U(0.7, 1.4)) and the affine parameters drawn
(weight U(0.5, 1.5), bias 0.1 N(0, 1)), so frozen BN is exercised without the activations
exploding or vanishing through 16+ blocks.

Cases (the "__metadata__" lists them in "cases" and describes each as JSON):
  det    the whole RetinaNet ([A]'s definition: mmdetection's ResNet + FPN + RetinaHead) at
         reduced widths: ResNet-50 ([3, 4, 6, 3] bottlenecks) with base width 4, FPN 16 channels,
         head 16 channels x 4 convs, 3 anchors, 5 classes, frozen_stages 1, norm_eval (frozen BN
         statistics, trainable BN affine outside the frozen stages). Input det.x (2, 3, 64, 96).
         Weights: backbone.*, neck.*, bbox_head.* (mmdetection names).
         Outputs: det.c3 .c4 .c5, det.p3 .. det.p7, det.logits (N, A_total, C) and det.deltas
         (N, A_total, 4) in mmdetection's order (level, location row-major, anchor).
         Training check: loss = sum(logits * det.r_cls) + sum(deltas * det.r_reg);
         grad.<name> for a selection of parameters of layer2..4, the FPN and the head (the
         list is the case's "grads"); the stem and layer1 have no gradient (frozen). The FPN and
         head biases are random and the head weights N(0, 0.1), so every term is exercised.
  x101   one ResNeXt stage: layer2 of a ResNeXt-101 32x8d (groups 32, width_per_group 8) with base
         width 8 (64 channels, 2 per group), eval mode, random BN statistics: x101.x (1, 32, 14, 14)
         -> x101.y (1, 64, 7, 7). Weights x101.layer2.*.
  small  the small from-scratch backbone: BasicBlocks [1, 1, 1, 1], base width 4, BN in train
         mode (batch statistics; running statistics updated with momentum 0.1):
         small.x (2, 3, 64, 64) -> small.c3 .c4 .c5; loss = sum_i sum(c_i * small.r_c_i);
         grad.small.<name> for every parameter; small.after.<buffer> the running statistics
         after the forward. Weights small.* (the state before the forward).
Metadata "names.<arch>" holds torchvision's state-dict names and shapes (without fc.* and
num_batches_tracked) of the full networks, as JSON [[name, [shape]], ...]: the C test builds each
full backbone and compares its tensor list with it.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_safetensors  # noqa: E402

OUT = {}
META = {}
CASES = []


# ---- the reference ResNet: torchvision's structure and names, with a base width -------------
class RefBasic(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, groups, width_per_group):
        super().__init__()
        assert groups == 1 and width_per_group == 64, "BasicBlock: groups 1, width_per_group 64"
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class RefBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, groups, width_per_group):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups   # the stride sits in the 3x3 conv
        out = planes * 4
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class RefResNet(nn.Module):
    def __init__(self, block, layers, groups=1, width_per_group=64, base_width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, base_width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_width)
        inplanes = base_width
        for i, n in enumerate(layers):
            planes = base_width * 2 ** i
            blocks = []
            for j in range(n):
                blocks.append(block(inplanes, planes, (1 if i == 0 else 2) if j == 0 else 1, groups, width_per_group))
                inplanes = planes * block.expansion
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
        for m in self.modules():   # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return c3, c4, c5


ARCHS = {   # torchvision constructor, block, layers, groups, width_per_group
    "resnet18": (torchvision.models.resnet18, RefBasic, [2, 2, 2, 2], 1, 64),
    "resnet50": (torchvision.models.resnet50, RefBottleneck, [3, 4, 6, 3], 1, 64),
    "resnet101": (torchvision.models.resnet101, RefBottleneck, [3, 4, 23, 3], 1, 64),
    "resnext101_32x8d": (torchvision.models.resnext101_32x8d, RefBottleneck, [3, 4, 23, 3], 32, 8),
    "resnext101_64x4d": (torchvision.models.resnext101_64x4d, RefBottleneck, [3, 4, 23, 3], 64, 4),
}


def randomize_bn(module, calib_fn, gen):
    """Running statistics from one batch (momentum 1), then perturbed; random affine."""
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    module.train()
    with torch.no_grad():
        calib_fn()
        for m in bns:
            c = m.num_features
            m.running_mean += 0.1 * m.running_var.sqrt() * torch.randn(c, generator=gen)
            m.running_var *= 0.7 + 0.7 * torch.rand(c, generator=gen)
            m.weight.copy_(0.5 + torch.rand(c, generator=gen))
            m.bias.copy_(0.1 * torch.randn(c, generator=gen))
            m.momentum = 0.1
    module.eval()


def state_names(sd):
    return [(k, list(v.shape)) for k, v in sd.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")]


def check_against_torchvision():
    """RefResNet at base width 64 is torchvision's network: names, shapes and outputs."""
    for arch, (ctor, block, layers, groups, wpg) in ARCHS.items():
        torch.manual_seed(1)
        tv = ctor()
        ref = RefResNet(block, layers, groups, wpg, 64)
        tv_names = state_names(tv.state_dict())
        ref_names = state_names(ref.state_dict())
        assert tv_names == ref_names, "%s: the reference's names/shapes differ from torchvision's" % arch
        META["names." + arch] = json.dumps(tv_names, separators=(",", ":"))
        gen = torch.Generator().manual_seed(2)
        x = torch.randn(1, 3, 64, 64, generator=gen)
        randomize_bn(tv, lambda: tv(x), gen)
        missing = ref.load_state_dict(tv.state_dict(), strict=False)
        assert not missing.missing_keys and all(k.startswith("fc.") for k in missing.unexpected_keys), missing
        ref.eval()
        with torch.no_grad():
            t = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
            t = tv.layer1(t)
            outs_tv = []
            for layer in (tv.layer2, tv.layer3, tv.layer4):
                t = layer(t)
                outs_tv.append(t)
            outs_ref = ref(x)
        for a, b in zip(outs_tv, outs_ref):
            err = (a - b).abs().max().item() / max(a.abs().max().item(), 1e-12)
            assert err == 0.0 or err < 1e-6, "%s: the reference's output differs from torchvision's (%g)" % (arch, err)
        n = sum(v.numel() for k, v in tv.state_dict().items() if not k.startswith("fc.") and "num_batches" not in k)
        print("  %-18s = torchvision's (%d tensors, %.1fM values without fc)" % (arch, len(tv_names), n / 1e6))


# ---- FPN and RetinaNet head, written to [A]'s definition -----------------------------------
class RefFPN(nn.Module):
    """mmdetection FPN(start_level=1, add_extra_convs='on_input', num_outs=5,
    relu_before_extra_convs=False): laterals 1x1, top-down nearest x2 and add, 3x3 outputs,
    P6 = 3x3 s2 conv on C5, P7 = 3x3 s2 conv on P6 (no ReLU); every conv has a bias, no
    activation; xavier-uniform init, bias 0."""

    def __init__(self, in_channels, ch):
        super().__init__()
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for c in in_channels:
            self.lateral_convs.append(nn.ModuleDict({"conv": nn.Conv2d(c, ch, 1)}))
            self.fpn_convs.append(nn.ModuleDict({"conv": nn.Conv2d(ch, ch, 3, 1, 1)}))
        self.fpn_convs.append(nn.ModuleDict({"conv": nn.Conv2d(in_channels[-1], ch, 3, 2, 1)}))
        self.fpn_convs.append(nn.ModuleDict({"conv": nn.Conv2d(ch, ch, 3, 2, 1)}))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, cs):
        lat = [l["conv"](c) for l, c in zip(self.lateral_convs, cs)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:], mode="nearest")
        outs = [self.fpn_convs[i]["conv"](lat[i]) for i in range(len(lat))]
        outs.append(self.fpn_convs[3]["conv"](cs[-1]))
        outs.append(self.fpn_convs[4]["conv"](outs[-1]))
        return outs


class RefHead(nn.Module):
    """mmdetection RetinaHead (the aLRP head's layers): per branch n_convs x (3x3 conv + ReLU),
    retina_cls to A*C logits, retina_reg to A*4 deltas, shared across levels. Init: convs
    N(0, 0.01) bias 0, retina_cls bias -ln(99), retina_reg N(0, 0.01) bias 0."""

    def __init__(self, in_ch, ch, n_convs, n_anchors, n_classes):
        super().__init__()
        self.n_classes = n_classes
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(n_convs):
            c = in_ch if i == 0 else ch
            self.cls_convs.append(nn.ModuleDict({"conv": nn.Conv2d(c, ch, 3, 1, 1)}))
            self.reg_convs.append(nn.ModuleDict({"conv": nn.Conv2d(c, ch, 3, 1, 1)}))
        self.retina_cls = nn.Conv2d(ch, n_anchors * n_classes, 3, 1, 1)
        self.retina_reg = nn.Conv2d(ch, n_anchors * 4, 3, 1, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.retina_cls.bias, -math.log(99.0))

    def forward(self, ps):
        logits, deltas = [], []
        for p in ps:
            c, r = p, p
            for m in self.cls_convs:
                c = F.relu(m["conv"](c))
            for m in self.reg_convs:
                r = F.relu(m["conv"](r))
            n = p.shape[0]
            logits.append(self.retina_cls(c).permute(0, 2, 3, 1).reshape(n, -1, self.n_classes))
            deltas.append(self.retina_reg(r).permute(0, 2, 3, 1).reshape(n, -1, 4))
        return torch.cat(logits, 1), torch.cat(deltas, 1)


class RefRetinaNet(nn.Module):
    def __init__(self, backbone, fpn, head):
        super().__init__()
        self.backbone, self.neck, self.bbox_head = backbone, fpn, head

    def forward(self, x):
        cs = self.backbone(x)
        ps = self.neck(cs)
        logits, deltas = self.bbox_head(ps)
        return cs, ps, logits, deltas


def put(name, t):
    OUT[name] = t.detach().clone().float().contiguous()


def put_state(prefix, module):
    for k, v in module.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            put(prefix + k, v)


def randomize_head_biases(module, gen):
    """Every conv bias random: zero at init would leave them unexercised by the parity check."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))


def det_case():
    torch.manual_seed(10)
    gen = torch.Generator().manual_seed(11)
    base, fpn_ch, head_ch, n_convs, A, C = 4, 16, 16, 4, 3, 5
    bb = RefResNet(RefBottleneck, [3, 4, 6, 3], 1, 64, base)
    fpn = RefFPN([base * 2 * 4, base * 4 * 4, base * 8 * 4], fpn_ch)
    head = RefHead(fpn_ch, head_ch, n_convs, A, C)
    with torch.no_grad():   # head weights at 0.01 would make the head's gradients tiny: use 0.1
        for m in head.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(10.0)
    randomize_head_biases(fpn, gen)
    randomize_head_biases(head, gen)
    net = RefRetinaNet(bb, fpn, head)
    x = torch.randn(2, 3, 64, 96, generator=gen)
    randomize_bn(bb, lambda: bb(torch.randn(2, 3, 64, 96, generator=gen)), gen)
    # frozen_stages = 1 (stem + layer1) and norm_eval: every BN in eval mode
    frozen = ["conv1.", "bn1.", "layer1."]
    for k, p in bb.named_parameters():
        p.requires_grad_(not any(k.startswith(f) for f in frozen))
    net.train()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    put_state("backbone.", bb)
    put_state("neck.", fpn)
    put_state("bbox_head.", head)
    net.double()   # the stored f32 values, computed in double
    cs, ps, logits, deltas = net(x.double())
    r_cls = torch.randn(logits.shape, generator=gen)
    r_reg = torch.randn(deltas.shape, generator=gen)
    loss = (logits * r_cls.double()).sum() + (deltas * r_reg.double()).sum()
    loss.backward()
    put("det.x", x)
    for i, c in enumerate(cs):
        put("det.c%d" % (i + 3), c)
    for i, p in enumerate(ps):
        put("det.p%d" % (i + 3), p)
    put("det.logits", logits)
    put("det.deltas", deltas)
    put("det.r_cls", r_cls)
    put("det.r_reg", r_reg)
    put("det.loss", loss.reshape(1))
    grads = ["backbone.layer2.0.conv1.weight", "backbone.layer2.0.bn1.weight", "backbone.layer2.0.bn1.bias",
             "backbone.layer2.0.downsample.0.weight", "backbone.layer2.3.conv3.weight", "backbone.layer2.3.bn3.weight",
             "backbone.layer3.2.conv2.weight", "backbone.layer3.5.bn2.bias", "backbone.layer4.0.conv2.weight",
             "backbone.layer4.0.downsample.1.weight", "backbone.layer4.2.conv3.weight", "backbone.layer4.2.bn3.bias"]
    grads += ["neck.lateral_convs.0.conv.weight", "neck.lateral_convs.0.conv.bias", "neck.lateral_convs.2.conv.weight",
              "neck.fpn_convs.1.conv.weight", "neck.fpn_convs.2.conv.bias", "neck.fpn_convs.3.conv.bias",
              "neck.fpn_convs.4.conv.weight", "neck.fpn_convs.4.conv.bias",
              "bbox_head.cls_convs.0.conv.weight", "bbox_head.cls_convs.3.conv.bias", "bbox_head.reg_convs.0.conv.bias",
              "bbox_head.reg_convs.3.conv.weight", "bbox_head.retina_cls.weight", "bbox_head.retina_cls.bias",
              "bbox_head.retina_reg.weight", "bbox_head.retina_reg.bias"]
    named = dict(net.named_parameters())
    for g in grads:
        put("grad." + g, named[g].grad)
    add_case("det", {"backbone": "resnet50", "base_width": base, "frozen_stages": 1, "bn": "frozen",
                     "fpn_channels": fpn_ch, "head_channels": head_ch, "head_convs": n_convs,
                     "n_anchors": A, "n_classes": C, "x": list(x.shape), "grads": grads})


def x101_case():
    torch.manual_seed(20)
    gen = torch.Generator().manual_seed(21)
    base = 8
    net = RefResNet(RefBottleneck, [3, 4, 23, 3], 32, 8, base)
    layer = net.layer2
    x = F.relu(torch.randn(1, base * 4, 14, 14, generator=gen))
    randomize_bn(layer, lambda: layer(F.relu(torch.randn(2, base * 4, 14, 14, generator=gen))), gen)
    put_state("x101.layer2.", layer)
    with torch.no_grad():
        y = layer.double()(x.double())
    put("x101.x", x)
    put("x101.y", y)
    add_case("x101", {"backbone": "resnext101_32x8d", "base_width": base, "layer": 2, "bn": "eval",
                      "x": list(x.shape), "y": list(y.shape)})


def small_case():
    torch.manual_seed(30)
    gen = torch.Generator().manual_seed(31)
    base = 4
    net = RefResNet(RefBasic, [1, 1, 1, 1], 1, 64, base)
    with torch.no_grad():   # non-trivial affine and running statistics before the step
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
    put_state("small.", net)
    net.double().train()
    x = torch.randn(2, 3, 64, 64, generator=gen)
    cs = net(x.double())
    loss = 0
    for i, c in enumerate(cs):
        r = torch.randn(c.shape, generator=gen)
        put("small.r_c%d" % (i + 3), r)
        put("small.c%d" % (i + 3), c)
        loss = loss + (c * r.double()).sum()
    loss.backward()
    put("small.x", x)
    for k, p in net.named_parameters():
        put("grad.small." + k, p.grad)
    for k, v in net.state_dict().items():
        if "running" in k:
            put("small.after." + k, v)
    add_case("small", {"backbone": "small", "block": "basic", "layers": [1, 1, 1, 1], "base_width": base,
                       "bn": "train", "x": list(x.shape)})


def add_case(name, desc):
    CASES.append(name)
    META[name] = json.dumps(desc)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "model.safetensors")
    torch.set_num_threads(2)
    print("checking the reference ResNet against torchvision:")
    check_against_torchvision()
    det_case()
    x101_case()
    small_case()
    META["format"] = "alrp-ref-model v1"
    META["generator"] = "tools/gen-ref-model.py"
    META["torch"] = torch.__version__
    META["torchvision"] = torchvision.__version__
    META["cases"] = " ".join(CASES)
    ref_safetensors.save(out_path, OUT, META)
    print("wrote %s (%d cases, %d tensors, %d bytes)" % (out_path, len(CASES), len(OUT), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
