#!/usr/bin/env python3
"""Writes the PyTorch reference cases for GraftTensor's parity tests into Fixtures/kernels/.

Run by hand (not in CI) with the project venv:

    /work/main/.venv/bin/python tools/make_kernel_fixtures.py

Every case is a folder of small float32 `.npy` files (inputs, parameters, outputs and the
gradients of `loss = sum(output * dy)` for a fixed random `dy`), computed by torch on the CPU in
float32 — the exact functions Graft's kernels mirror. Integer data (pool indices, class targets)
is stored as float32, which holds them exactly. The whole folder stays well under 2 MiB.
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "kernels")


def save(case, **arrays):
    folder = os.path.join(ROOT, case)
    os.makedirs(folder, exist_ok=True)
    for name, value in arrays.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(np.asarray(value, dtype=np.float32)))


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


def conv_case(name, x_shape, w_shape, stride=1, padding=(0, 0, 0, 0), dilation=1, groups=1, bias=True):
    """padding is (top, left, bottom, right); asymmetric padding is applied with F.pad first."""
    x = leaf(*x_shape)
    w = leaf(*w_shape, scale=0.3)
    b = leaf(w_shape[0]) if bias else None
    top, left, bottom, right = padding
    padded = F.pad(x, (left, right, top, bottom))
    y = F.conv2d(padded, w, b, stride=stride, dilation=dilation, groups=groups)
    dy = torch.randn_like(y)
    y.backward(dy)
    arrays = dict(x=x, w=w, y=y, dy=dy, dx=x.grad, dw=w.grad,
                  geometry=[stride if isinstance(stride, int) else stride[0],
                            stride if isinstance(stride, int) else stride[1],
                            top, left, bottom, right,
                            dilation if isinstance(dilation, int) else dilation[0],
                            dilation if isinstance(dilation, int) else dilation[1], groups])
    if bias:
        arrays.update(b=b, db=b.grad)
    save(name, **arrays)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)

    conv_case("conv_3x3_s1", (2, 8, 10, 10), (16, 8, 3, 3), padding=(1, 1, 1, 1))
    conv_case("conv_7x7_s2_stem", (1, 3, 38, 36), (8, 3, 7, 7), stride=2, padding=(3, 3, 3, 3), bias=False)
    conv_case("conv_1x1", (2, 16, 9, 7), (24, 16, 1, 1))
    conv_case("conv_1x1_s2", (2, 16, 9, 9), (12, 16, 1, 1), stride=2, bias=False)
    conv_case("conv_3x3_s2_odd", (1, 6, 13, 11), (10, 6, 3, 3), stride=2, padding=(1, 1, 1, 1))
    conv_case("conv_grouped", (2, 16, 7, 7), (16, 4, 3, 3), padding=(1, 1, 1, 1), groups=4)
    conv_case("conv_dilated", (1, 4, 12, 12), (6, 4, 3, 3), padding=(2, 2, 2, 2), dilation=2)
    conv_case("conv_same_s2_asymmetric", (1, 4, 12, 12), (6, 4, 3, 3), stride=2, padding=(0, 0, 1, 1))
    conv_case("depthwise_3x3_s1", (2, 12, 11, 9), (12, 1, 3, 3), padding=(1, 1, 1, 1), groups=12)
    conv_case("depthwise_3x3_s2", (2, 8, 14, 14), (8, 1, 3, 3), stride=2, padding=(1, 1, 1, 1), groups=8)
    conv_case("depthwise_5x5_s2", (1, 8, 15, 13), (8, 1, 5, 5), stride=2, padding=(2, 2, 2, 2), groups=8)
    conv_case("depthwise_5x5_same_s2", (1, 6, 12, 12), (6, 1, 5, 5), stride=2, padding=(1, 1, 2, 2), groups=6)
    conv_case("conv_large_plane", (1, 8, 40, 40), (8, 8, 3, 3), padding=(1, 1, 1, 1))
    conv_case("conv_3x3_winograd", (2, 32, 14, 13), (24, 32, 3, 3), padding=(1, 1, 1, 1))
    conv_case("conv_3x3_winograd_large", (1, 16, 40, 38), (16, 16, 3, 3), padding=(1, 1, 1, 1), bias=False)

    # BatchNorm in training mode: batch statistics, running-stat update and gradients.
    x = leaf(4, 6, 5, 7, scale=2.0)
    gamma, beta = leaf(6), leaf(6)
    running_mean, running_var = torch.zeros(6), torch.ones(6)
    y = F.batch_norm(x, running_mean, running_var, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    dy = torch.randn_like(y)
    y.backward(dy)
    xd = x.detach()
    save("batchnorm_train", x=x, gamma=gamma, beta=beta, y=y, dy=dy, dx=x.grad, dgamma=gamma.grad, dbeta=beta.grad,
         mean=xd.mean(dim=(0, 2, 3)), var=xd.var(dim=(0, 2, 3), unbiased=False),
         running_mean=running_mean, running_var=running_var)

    # Eval BatchNorm folded into a conv.
    x, w = torch.randn(1, 5, 8, 8), torch.randn(7, 5, 3, 3) * 0.3
    g, b, m, v = torch.randn(7), torch.randn(7), torch.randn(7) * 0.1, torch.rand(7) + 0.5
    y = F.batch_norm(F.conv2d(x, w, padding=1), m, v, g, b, training=False, eps=1e-3)
    save("batchnorm_fold", x=x, w=w, gamma=g, beta=b, mean=m, var=v, y=y)

    # Linear.
    x, w, b = leaf(3, 20), leaf(7, 20, scale=0.3), leaf(7)
    y = F.linear(x, w, b)
    dy = torch.randn_like(y)
    y.backward(dy)
    save("linear", x=x, w=w, b=b, y=y, dy=dy, dx=x.grad, dw=w.grad, db=b.grad)

    # Pools.
    for name, shape, k, s, p, ceil in [("maxpool_3x3_s2_ceil", (2, 3, 9, 10), 3, 2, 1, True),
                                       ("maxpool_stem", (1, 2, 16, 15), 3, 2, 1, False),
                                       ("maxpool_2x2_ceil", (1, 2, 7, 9), 2, 2, 0, True)]:
        x = leaf(*shape)
        y, idx = F.max_pool2d(x, k, s, p, ceil_mode=ceil, return_indices=True)
        dy = torch.randn_like(y)
        y.backward(dy)
        save(name, x=x, y=y, indices=idx.float(), dy=dy, dx=x.grad, geometry=[k, s, p, int(ceil)])
    for include in (True, False):
        x = leaf(2, 3, 9, 10)
        y = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=include)
        dy = torch.randn_like(y)
        y.backward(dy)
        save("avgpool_ceil_" + ("include_pad" if include else "exclude_pad"), x=x, y=y, dy=dy, dx=x.grad)
    for name, shape in [("adaptive_5x9_to_7", (2, 3, 5, 9)), ("adaptive_15x13_to_7", (1, 2, 15, 13))]:
        x = leaf(*shape)
        y = F.adaptive_avg_pool2d(x, (7, 7))
        dy = torch.randn_like(y)
        y.backward(dy)
        save(name, x=x, y=y, dy=dy, dx=x.grad)

    # Activations.
    x = leaf(1000, scale=4.0)
    for name, fn in [("silu", F.silu), ("sigmoid", torch.sigmoid), ("relu6", F.relu6)]:
        x.grad = None
        y = fn(x)
        dy = torch.randn_like(y)
        y.backward(dy)
        save("activation_" + name, x=x, y=y, dy=dy, dx=x.grad)

    # Softmax and cross-entropy with label smoothing (mean reduction).
    logits = leaf(6, 10, scale=3.0)
    targets = torch.tensor([0, 9, 3, 3, 7, 1])
    loss = F.cross_entropy(logits, targets, label_smoothing=0.1)
    loss.backward()
    save("cross_entropy", logits=logits, targets=targets.float(), loss=[loss.item()], grad=logits.grad,
         softmax=torch.softmax(logits, dim=1), log_softmax=torch.log_softmax(logits, dim=1))

    # Hardswish, hardsigmoid and GELU (exact erf, approximate='none'): the kinks (±3, 0), the floats
    # right beside them, ±6 and large |x|, then random values; 1013 in all, so the vector loops have a
    # tail. A generator of their own, so adding them changed none of the cases above.
    gen = torch.Generator().manual_seed(17)
    ulp3 = 2.0 ** -22  # the spacing of floats between 2 and 4
    special = [-3.0, 3.0, 0.0, -0.0, -3 - 2 * ulp3, -3 + ulp3, 3 - ulp3, 3 + 2 * ulp3, -6.0, 6.0, 1e-30, -1e-30,
               10.0, -10.0, 1e4, -1e4, 1e30, -1e30]
    x = torch.cat([torch.tensor(special), torch.randn(1013 - len(special), generator=gen) * 4])
    x.requires_grad_(True)
    for name, fn in [("hardswish", F.hardswish), ("hardsigmoid", F.hardsigmoid), ("gelu", F.gelu)]:
        x.grad = None
        y = fn(x)
        dy = torch.randn(y.shape, generator=gen)
        y.backward(dy)
        save("activation_" + name, x=x, y=y, dy=dy, dx=x.grad)

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"wrote {ROOT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
