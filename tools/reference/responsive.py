#!/usr/bin/env python3
"""Independent scipy implementation of the responsive-channel test (spec section 3.3).

Windows -0.2..+1.0 s at 100 Hz around each onset (onsets kept when t*hz - 20 > 0 and
t*hz + 100 < n), pre = nanmean of samples 0-29, post = nanmean of samples 35-119,
scipy.stats.ttest_rel(pre, post) per channel, responsive when p < alpha / n_channels.
Writes CSV: channel,t,p,responsive.
"""
import argparse
import csv

import numpy as np
import scipy.stats


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hg", required=True)
    p.add_argument("--onsets", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--alpha", type=float, default=0.01)
    a = p.parse_args()
    hg = np.load(a.hg).astype(np.float64)  # [frames, channels]
    with open(a.onsets) as f:
        rows = [r.split(",")[0].strip() for r in f if r.strip()]
    times = []
    for i, r in enumerate(rows):
        try:
            times.append(float(r))
        except ValueError:
            if i != 0:
                raise
    hz, back, forward = 100, 20, 100
    n = hg.shape[0]
    keep = [t for t in times if t * hz - back > 0 and t * hz + forward < n]
    idx = [int(round(t * hz)) for t in keep]
    trials = np.stack([hg[i - back : i + forward] for i in idx], axis=-1)  # [120, ch, trials]
    pre = np.nanmean(trials[0:30], axis=0)  # [ch, trials]
    post = np.nanmean(trials[35:120], axis=0)
    n_ch = hg.shape[1]
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["channel", "t", "p", "responsive"])
        for c in range(n_ch):
            t, pv = scipy.stats.ttest_rel(pre[c], post[c])
            w.writerow([c, repr(float(t)), repr(float(pv)), str(bool(pv < a.alpha / n_ch)).lower()])


if __name__ == "__main__":
    main()
