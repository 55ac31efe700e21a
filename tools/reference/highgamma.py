#!/usr/bin/env python3
"""Independent numpy/scipy implementation of the offline high-gamma spec (Chang lab method).

Spec: shared/specs/neural-encoding-li2023.md section 3.1 with the choices neurovox documents in
ARCHITECTURE.md: FFT-domain line-noise notch (bins within 1 Hz of each harmonic times 1 - Hamming),
unnormalised Gaussian kernels, mean of the 8 band amplitudes, power-of-two padded FFT resampling
to the frame rate, per-channel z-score (ddof 0, NaN-aware). Bad channels are NaN in the output.

Used by the tests (`tests/offline_hg_reference.rs`) and by the speed bench (BENCHMARKS.md).
"""
import argparse
import math
import sys

import numpy as np
import scipy.signal
import scipy.fft

HG_CFS = None  # computed below from the 40-band bank


def bank():
    cfs = 2 ** (np.arange(np.log2(4.0749286538265) * 7, np.log2(200) * 7) / 7)
    sds = 10 ** (np.log10(0.39) + 0.5 * np.log10(cfs))
    keep = (cfs >= 70) & (cfs <= 150)
    return cfs[keep], sds[keep]


def car_trimmed(x, good):
    """x: [time, channels]; subtract per-sample mean of the middle 95 % of good channels."""
    g = x[:, good]
    n = g.shape[1]
    k = int(math.ceil(n * (1 - 0.95) / 2))
    s = np.sort(g, axis=1)
    ref = s[:, k:n - k].mean(axis=1) if n - 2 * k > 0 else s.mean(axis=1)
    return x - ref[:, None]


def notch_fft(X, freqs, line_hz, nyquist):
    """X: rfft of [time, channels] along axis 0; attenuate bins within 1 Hz of each harmonic."""
    f = line_hz
    while f < nyquist:
        mask = (freqs > f - 1) & (freqs < f + 1)
        m = int(mask.sum())
        if m > 0:
            X[mask, :] *= (1.0 - np.hamming(m))[:, None]
        f += line_hz
    return X


def high_gamma(ecog, rate, bad, frame_rate=100.0, inter_rate=400.0, line_hz=60.0, car=True):
    n_in, n_ch = ecog.shape
    n4 = int(math.ceil(n_in * inter_rate / rate))
    x = scipy.signal.resample(ecog.astype(np.float64), n4, axis=0)
    good = np.ones(n_ch, dtype=bool)
    good[list(bad)] = False
    if car:
        x = car_trimmed(x, good)
    X = scipy.fft.rfft(x, axis=0)
    freqs = scipy.fft.rfftfreq(n4, 1.0 / inter_rate)
    X = notch_fft(X, freqs, line_hz, inter_rate / 2)
    # Analytic signal spectrum: positive frequencies doubled; negative ones zero.
    full = np.zeros((n4, n_ch), dtype=complex)
    full[: X.shape[0]] = X
    h_pos = np.zeros(n4)
    h_pos[0] = 1
    if n4 % 2 == 0:
        h_pos[1 : n4 // 2] = 2
        h_pos[n4 // 2] = 1
    else:
        h_pos[1 : (n4 + 1) // 2] = 2
    freqs_full = scipy.fft.fftfreq(n4, 1.0 / inter_rate)
    cfs, sds = bank()
    hg = np.zeros((n4, n_ch))
    for cf, sd in zip(cfs, sds):
        k = np.exp(-((np.abs(freqs_full) - cf) ** 2) / (2 * sd**2)) * h_pos
        hg += np.abs(scipy.fft.ifft(full * k[:, None], axis=0))
    hg /= len(cfs)
    # Resample to the frame rate through a power-of-two zero-padded FFT resampling.
    padded = 2 ** (int(math.floor(math.log2(n4))) + 1)
    buf = np.zeros((padded, n_ch))
    buf[:n4] = hg
    n_pad_out = int(round(padded * frame_rate / inter_rate))
    out = scipy.signal.resample(buf, n_pad_out, axis=0)[: int(math.floor(n4 * frame_rate / inter_rate))]
    out[:, ~good] = np.nan
    mean = np.nanmean(out, axis=0)
    std = np.nanstd(out, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (out - mean) / std
    z[:, ~good] = np.nan
    return z.astype(np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--input", required=True)
    p.add_argument("--rate-hz", type=float, default=3051.7578125)
    p.add_argument("--frame-rate-hz", type=float, default=100.0)
    p.add_argument("--line-hz", type=float, default=60.0)
    p.add_argument("--bad", default="", help="comma-separated 0-based bad channels")
    p.add_argument("--no-car", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    ecog = np.load(a.input)
    if ecog.ndim != 2:
        sys.exit(f"{a.input}: expected [samples, channels], got shape {ecog.shape}")
    bad = [int(b) for b in a.bad.split(",") if b.strip()]
    z = high_gamma(ecog, a.rate_hz, bad, a.frame_rate_hz, line_hz=a.line_hz, car=not a.no_car)
    np.save(a.out, z)


if __name__ == "__main__":
    main()
