#!/usr/bin/python3
"""Writes tests/data/ops.safetensors: PyTorch references for the graph ops' parity tests.

    /usr/bin/python3 tools/gen-ref-ops.py [out.safetensors]

Every tensor is F32, in PyTorch's layout (NCHW; conv weights (O, I/groups, kH, kW)). A case is a
name prefix; each case's backward is for the fixed random upstream gradient `<case>.dy`, i.e. the
grads are those of sum(y * dy). Shapes use odd sizes on purpose. Fixed seed per case.

conv0..conv6 (F.conv2d):
    .x (N, C, H, W)  .w (O, C/groups, kH, kW)  .b (O)   [.b and .db only when the case has a bias]
    .y (N, O, Ho, Wo)  .dy (like y)  .dx  .dw  .db
    .params = [stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups]  (zero padding)
    Ho = (H + 2*pad_h - dil_h*(kH-1) - 1) // stride_h + 1, likewise Wo.
    conv0 3x3 pad 1 | conv1 3x3 stride 2 pad 1 | conv2 3x3 dilation 2 pad 2 |
    conv3 3x3 groups 4 pad 1 with bias | conv4 1x1 no bias | conv5 7x7 stride 2 pad 3 |
    conv6 3x1 kernel, stride (1, 2), pad (1, 0), no bias
bn0 (train mode), bn1 (eval mode) (F.batch_norm):
    .x (N, C, H, W)  .w .b (C)  .running_mean .running_var (C): the running stats before the call
    .y  .dy  .dx  .dw  .db
    bn0 only: .running_mean_out .running_var_out: after the call; PyTorch updates
        running = (1 - momentum) * running + momentum * batch_stat, with the UNBIASED batch
        variance (n / (n - 1)), while y is normalised with the biased one.
    .params = [training (1 or 0), momentum, eps]
pool0 (3x3 stride 2 pad 1), pool1 (2x2 stride 2, odd input: the last row/column is dropped)
    (F.max_pool2d, padding acts as -inf, floor mode, dilation 1):
    .x  .y  .dy  .dx    .params = [kH, kW, stride_h, stride_w, pad_h, pad_w]
up0 (F.interpolate(scale_factor=2, mode="nearest")): .x  .y  .dy  .dx   .params = [scale_h, scale_w]
block: a tiny residual block trained 3 steps with torch.optim.SGD:
        out = relu(bn2(conv2(relu(bn1(conv1(x))))) + x), conv 3x3 pad 1 without bias, BN in
        train mode, loss = mean((out - target)^2)
    .x  .target
    .init.<p>   parameters and BN buffers before training, <p> in PyTorch names: conv1.weight,
                bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var, conv2.weight, bn2.*
    .step0.out  the block's output at step 0;  .step0.grad.<p>  the gradients at step 0
    .loss       (3,) the loss at steps 0, 1, 2 (each before its update)
    .final.<p>  parameters and BN buffers after the 3 updates
    .params = [lr, momentum, weight_decay, bn_momentum, bn_eps, steps]
The "__metadata__" holds "cases" (the case names, space-separated) and, per case, a JSON string
describing it ({"op": "conv2d", "stride": [1, 1], ...}).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_safetensors  # noqa: E402

OUT = {}
META = {}
CASES = []


def add_case(name, desc, tensors):
    CASES.append(name)
    META[name] = json.dumps(desc)
    for k, v in tensors.items():
        OUT[name + "." + k] = v.detach().clone().float().contiguous()


def conv_case(name, seed, x_shape, out_ch, k, stride, pad, dil, groups, bias):
    torch.manual_seed(seed)
    n, c, h, w = x_shape
    x = torch.randn(x_shape, requires_grad=True)
    wt = (torch.randn(out_ch, c // groups, k[0], k[1]) * 0.3).requires_grad_()
    b = (torch.randn(out_ch) * 0.5).requires_grad_() if bias else None
    y = F.conv2d(x, wt, b, stride=stride, padding=pad, dilation=dil, groups=groups)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = {"x": x, "w": wt, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad,
         "params": torch.tensor([stride[0], stride[1], pad[0], pad[1], dil[0], dil[1], groups], dtype=torch.float32)}
    if bias:
        t["b"] = b
        t["db"] = b.grad
    add_case(name, {"op": "conv2d", "stride": list(stride), "padding": list(pad), "dilation": list(dil),
                    "groups": groups, "bias": bias}, t)


def bn_case(name, seed, x_shape, training):
    torch.manual_seed(seed)
    c = x_shape[1]
    x = (torch.randn(x_shape) * 1.7 + 0.4).requires_grad_()
    wt = (torch.rand(c) + 0.5).requires_grad_()
    b = (torch.randn(c) * 0.3).requires_grad_()
    rm = torch.randn(c) * 0.2
    rv = torch.rand(c) + 0.5
    rm_out, rv_out = rm.clone(), rv.clone()
    momentum, eps = 0.1, 1e-5
    y = F.batch_norm(x, rm_out, rv_out, wt, b, training=training, momentum=momentum, eps=eps)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = {"x": x, "w": wt, "b": b, "running_mean": rm, "running_var": rv, "y": y, "dy": dy,
         "dx": x.grad, "dw": wt.grad, "db": b.grad,
         "params": torch.tensor([1.0 if training else 0.0, momentum, eps])}
    if training:
        t["running_mean_out"] = rm_out
        t["running_var_out"] = rv_out
    add_case(name, {"op": "batch_norm", "training": training, "momentum": momentum, "eps": eps,
                    "running_var": "unbiased batch variance"}, t)


def pool_case(name, seed, x_shape, k, stride, pad):
    torch.manual_seed(seed)
    x = torch.randn(x_shape, requires_grad=True)
    y = F.max_pool2d(x, k, stride=stride, padding=pad)
    dy = torch.randn_like(y)
    y.backward(dy)
    add_case(name, {"op": "max_pool2d", "kernel": list(k), "stride": list(stride), "padding": list(pad),
                    "ceil_mode": False},
             {"x": x, "y": y, "dy": dy, "dx": x.grad,
              "params": torch.tensor([k[0], k[1], stride[0], stride[1], pad[0], pad[1]], dtype=torch.float32)})


def upsample_case(name, seed, x_shape):
    torch.manual_seed(seed)
    x = torch.randn(x_shape, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="nearest")
    dy = torch.randn_like(y)
    y.backward(dy)
    add_case(name, {"op": "upsample_nearest", "scale": [2, 2]},
             {"x": x, "y": y, "dy": dy, "dx": x.grad, "params": torch.tensor([2.0, 2.0])})


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


def block_case(name, seed):
    torch.manual_seed(seed)
    c = 4
    blk = Block(c)
    with torch.no_grad():  # non-trivial BN affine parameters
        for bn in (blk.bn1, blk.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.1)
    x = torch.randn(2, c, 7, 9)
    target = torch.randn(2, c, 7, 9).abs()
    lr, momentum, wd, steps = 0.1, 0.9, 1e-4, 3
    opt = torch.optim.SGD(blk.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    t = {"x": x, "target": target}
    for k, v in blk.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            t["init." + k] = v.clone()
    losses = []
    blk.train()
    for s in range(steps):
        opt.zero_grad()
        out = blk(x)
        loss = ((out - target) ** 2).mean()
        loss.backward()
        if s == 0:
            t["step0.out"] = out
            for k, p in blk.named_parameters():
                t["step0.grad." + k] = p.grad.clone()
        losses.append(loss.item())
        opt.step()
    t["loss"] = torch.tensor(losses)
    for k, v in blk.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            t["final." + k] = v.clone()
    t["params"] = torch.tensor([lr, momentum, wd, 0.1, 1e-5, steps])
    add_case(name, {"op": "block", "model": "relu(bn2(conv2(relu(bn1(conv1(x))))) + x)",
                    "loss": "mean((out - target)^2)", "optimizer": "SGD(lr=0.1, momentum=0.9, weight_decay=1e-4)",
                    "steps": steps, "losses": losses}, t)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "ops.safetensors")
    torch.set_num_threads(1)
    conv_case("conv0", 100, (2, 3, 7, 9), 5, (3, 3), (1, 1), (1, 1), (1, 1), 1, True)
    conv_case("conv1", 101, (2, 4, 9, 11), 6, (3, 3), (2, 2), (1, 1), (1, 1), 1, True)
    conv_case("conv2", 102, (1, 3, 11, 10), 4, (3, 3), (1, 1), (2, 2), (2, 2), 1, True)
    conv_case("conv3", 103, (2, 8, 7, 7), 12, (3, 3), (1, 1), (1, 1), (1, 1), 4, True)
    conv_case("conv4", 104, (2, 7, 5, 6), 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, False)
    conv_case("conv5", 105, (1, 3, 19, 17), 4, (7, 7), (2, 2), (3, 3), (1, 1), 1, True)
    conv_case("conv6", 106, (2, 3, 7, 9), 5, (3, 1), (1, 2), (1, 0), (1, 1), 1, False)
    bn_case("bn0", 200, (3, 5, 5, 7), True)
    bn_case("bn1", 201, (2, 5, 3, 7), False)
    pool_case("pool0", 300, (2, 3, 9, 11), (3, 3), (2, 2), (1, 1))
    pool_case("pool1", 301, (2, 3, 9, 11), (2, 2), (2, 2), (0, 0))
    upsample_case("up0", 400, (2, 3, 5, 7))
    block_case("block", 500)
    META["format"] = "alrp-ref-ops v1"
    META["generator"] = "tools/gen-ref-ops.py"
    META["torch"] = torch.__version__
    META["cases"] = " ".join(CASES)
    ref_safetensors.save(out_path, OUT, META)
    print("wrote %s (%d cases, %d tensors, %d bytes)" % (out_path, len(CASES), len(OUT), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
