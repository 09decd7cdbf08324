#!/usr/bin/env python3
"""Fits the polynomials of GraftTensor's vectorized normal CDF (FastMath.normalCDF, used by GELU) and
checks x·Φ(x) computed the way the Swift code does (float32, no fused multiply-add, the Cephes exp of
FastMath) against the exact value on a dense grid, as a fraction of ActivationTests' bound
(1e-8 + 4e-7·|exact|). Prints the coefficients to paste into FastMath.swift.

  .venv/bin/pip install mpmath scipy && .venv/bin/python tools/fit_normal_cdf.py

Last run (numpy 2, mpmath 1.3): S fit 1.8e-13 relative, H fit 7.5e-11 absolute, worst 0.694 of the bound
(libm's erfcf, the previous implementation: 0.63).
"""
import numpy as np
from mpmath import mp, ncdf, log as mlog
from scipy.special import ndtr

mp.dps = 30
f, d = np.float32, np.float64
SWITCH, P, HI = 1.0, 1.0, 14.5   # |x| < SWITCH: central fit; else the tail in t = 1/(1 + P·u), u ≤ HI


def fit_central(deg=7):
    """(Φ(x) − ½)/x as a polynomial in x² on (0, SWITCH]."""
    x = np.cos(np.linspace(0, np.pi, 3000)) * SWITCH / 2 + SWITCH / 2
    x = x[x > 1e-6]
    y = np.array([float((ncdf(v) - 0.5) / v) for v in x])
    v = np.vander(x * x, deg + 1, increasing=True)
    c, *_ = np.linalg.lstsq(v, y, rcond=None)
    return c, np.max(np.abs(v @ c - y) / np.abs(y))


def fit_tail(deg=12):
    """log Φ(−u) + u²/2 − log t as a polynomial in s, the affine map of t's range onto [−1, 1]."""
    lo = SWITCH - 0.01
    u = np.cos(np.linspace(0, np.pi, 6000)) * (HI - lo) / 2 + (HI + lo) / 2
    t = 1 / (1 + P * u)
    tlo, thi = 1 / (1 + P * HI), 1 / (1 + P * lo)
    mid, half = (thi + tlo) / 2, (thi - tlo) / 2
    y = np.array([float(mlog(ncdf(-v))) for v in u]) + u * u / 2 - np.log(t)
    v = np.vander((t - mid) / half, deg + 1, increasing=True)
    c, *_ = np.linalg.lstsq(v, y, rcond=None)
    return c, np.max(np.abs(v @ c - y)), mid, half


def horner(c, x):
    r = np.full_like(x, c[-1])
    for k in c[-2::-1]:
        r = (r * x + k).astype(f)
    return r


def cephes_exp(x):
    """FastMath.expOfClamped, operation by operation in float32."""
    x = np.maximum(np.minimum(x.astype(f), f(88.3762626647949)), f(-87.3365447505531))
    shifted = (x * f(1.44269504088896341) + f(12582912)).astype(f)
    n = (shifted - f(12582912)).astype(f)
    nb = shifted.view(np.int32) - np.array([12582912], dtype=f).view(np.int32)[0]
    r = ((x - (n * f(0.693359375)).astype(f)).astype(f) - (n * f(-2.12194440e-4)).astype(f)).astype(f)
    y = (f(1.9875691500e-4) * r + f(1.3981999507e-3)).astype(f)
    for c in [8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]:
        y = (y * r + f(c)).astype(f)
    y = ((y * (r * r).astype(f)).astype(f) + r + f(1)).astype(f)
    return (y * ((nb + 127) << 23).astype(np.int32).view(f)).astype(f)


def gelu(x, cs, ch, mid, half):
    """x · Φ(x) exactly as FastMath.normalCDF orders its float32 operations."""
    x = x.astype(f)
    u = np.abs(x)
    central = (f(0.5) + (x * horner(cs, (x * x).astype(f))).astype(f)).astype(f)
    t = (f(1) / (f(1) + u)).astype(f)
    h = horner(ch, ((t - f(mid)) * f(1 / half)).astype(f))
    high = (u.view(np.uint32) & np.uint32(0xFFFFF000)).view(f)
    with np.errstate(all="ignore"):
        a = (-(high * high) * f(0.5)).astype(f)
        b = ((-(u - high) * (u + high) * f(0.5)).astype(f) + h).astype(f)
        s = (a + b).astype(f)
        bp = (s - a).astype(f)
        err = ((a - (s - bp).astype(f)).astype(f) + (b - bp).astype(f)).astype(f)
        e = cephes_exp(s)
        tail = (t * (e + (e * err).astype(f)).astype(f)).astype(f)
    tail = np.where(u > f(14), f(0), tail)
    outer = np.where(x > 0, (f(1) - tail).astype(f), tail)
    return (x * np.where(u < f(SWITCH), central, outer)).astype(f)


def main():
    cs, es = fit_central()
    ch, eh, mid, half = fit_tail()
    cs, ch = cs.astype(f), ch.astype(f)
    print(f"central S (x² powers 0…): {', '.join(repr(float(v)) for v in cs)}   fit {es:.1e}")
    print(f"tail H (s powers 0…): {', '.join(repr(float(v)) for v in ch)}   fit {eh:.1e}")
    print(f"s = (t − {float(f(mid))!r}) · {float(f(1 / half))!r}")
    x = np.concatenate([np.linspace(-3, 0.5, 3_000_001), np.linspace(-20, 20, 2_000_001),
                        np.random.default_rng(7).uniform(-8, 8, 2_000_000)]).astype(f)
    exact = x.astype(d) * ndtr(x.astype(d))
    ratio = np.abs(gelu(x, cs, ch, mid, half).astype(d) - exact) / (1e-8 + 4e-7 * np.abs(exact))
    print(f"worst |error| / bound: {ratio.max():.3f} at x = {x[ratio.argmax()]}")


if __name__ == "__main__":
    main()
