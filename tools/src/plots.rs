//! Figures a person would rather look at than read: the responsive-channel grid and trial averages.

use anyhow::{Result, anyhow};
use neurovox::channels::offline::{ChannelTest, TrialWindows, trial_starts};
use plotters::prelude::*;
use std::path::Path;

/// Draws a two-panel PNG: left, the electrode grid coloured by −t (rise after onset is warm),
/// responsive channels outlined; right, the trial-averaged high gamma of responsive and other
/// channels from −0.2 to +1.0 s.
pub fn responsive_figure(
    path: &Path,
    hg: ndarray::ArrayView2<f32>,
    onsets_s: &[f64],
    frame_rate_hz: f64,
    tests: &[ChannelTest],
    grid_cols: usize,
) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let root = BitMapBackend::new(path, (1100, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(480);

    let n_ch = tests.len();
    let cols = grid_cols.max(1);
    let rows = n_ch.div_ceil(cols);
    let max_abs = tests
        .iter()
        .map(|t| t.t.abs())
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let mut grid = ChartBuilder::on(&left)
        .caption("responsive channels (colour: −t)", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(25)
        .y_label_area_size(30)
        .build_cartesian_2d(0i32..cols as i32, rows as i32..0i32)
        .map_err(|e| err(&e))?;
    grid.configure_mesh()
        .disable_mesh()
        .x_desc("column")
        .y_desc("row")
        .draw()
        .map_err(|e| err(&e))?;
    for t in tests {
        let (r, c) = ((t.channel / cols) as i32, (t.channel % cols) as i32);
        let v = if t.t.is_finite() {
            (-t.t / max_abs).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let color = if !t.t.is_finite() {
            RGBColor(160, 160, 160)
        } else if v >= 0.0 {
            RGBColor(255, (255.0 * (1.0 - v)) as u8, (255.0 * (1.0 - v)) as u8)
        } else {
            RGBColor((255.0 * (1.0 + v)) as u8, (255.0 * (1.0 + v)) as u8, 255)
        };
        grid.draw_series(std::iter::once(Rectangle::new(
            [(c, r), (c + 1, r + 1)],
            color.filled(),
        )))
        .map_err(|e| err(&e))?;
        if t.responsive {
            grid.draw_series(std::iter::once(Rectangle::new(
                [(c, r), (c + 1, r + 1)],
                BLACK.stroke_width(2),
            )))
            .map_err(|e| err(&e))?;
        }
    }

    // Trial averages.
    let w = TrialWindows::at_rate(frame_rate_hz);
    let starts = trial_starts(onsets_s, frame_rate_hz, hg.nrows(), &w);
    let average = |pick: &dyn Fn(&ChannelTest) -> bool| -> Vec<(f64, f64)> {
        let chans: Vec<usize> = tests
            .iter()
            .filter(|t| pick(t))
            .map(|t| t.channel)
            .collect();
        (0..w.len())
            .map(|k| {
                let (mut s, mut n) = (0.0, 0usize);
                for &st in &starts {
                    for &c in &chans {
                        let v = hg[[st + k, c]] as f64;
                        if v.is_finite() {
                            s += v;
                            n += 1;
                        }
                    }
                }
                (
                    (k as f64 - w.back as f64) / frame_rate_hz,
                    if n > 0 { s / n as f64 } else { 0.0 },
                )
            })
            .collect()
    };
    let resp = average(&|t| t.responsive);
    let other = average(&|t| !t.responsive && t.t.is_finite());
    let (lo, hi) = resp
        .iter()
        .chain(&other)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(_, v)| {
            (a.min(v), b.max(v))
        });
    let pad = ((hi - lo) * 0.1).max(0.05);
    let mut erp = ChartBuilder::on(&right)
        .caption(
            format!("trial-averaged high gamma ({} trials)", starts.len()),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.2f64..1.0f64, (lo - pad)..(hi + pad))
        .map_err(|e| err(&e))?;
    erp.configure_mesh()
        .x_desc("time from onset (s)")
        .y_desc("high gamma (z)")
        .draw()
        .map_err(|e| err(&e))?;
    erp.draw_series(LineSeries::new(resp, RED.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("responsive")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    erp.draw_series(LineSeries::new(other, BLUE.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("other good channels")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    erp.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
