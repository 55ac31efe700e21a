//! The streaming high-gamma extractor allocates nothing per chunk (STYLE.md #1).
//!
//! Lives in its own test binary because a global allocator can be declared only once per binary;
//! in debug builds `assert_no_alloc` aborts the process on any allocation inside the closure.

#[cfg(debug_assertions)]
use assert_no_alloc::AllocDisabler;
use assert_no_alloc::assert_no_alloc;
use neurovox::TDT_RATE_HZ;
use neurovox::block::FrameStamp;
use neurovox::dsp::highgamma::streaming::{HgDesign, StreamingHgConfig, StreamingHighGamma};

// Release builds compile the checker out (assert_no_alloc's default `disable_release` feature).
#[cfg(debug_assertions)]
#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

fn noise(n: usize, seed: u64) -> Vec<f32> {
    neurovox::dsp::testsignal::uniform_noise(n, seed)
}

#[test]
fn processing_chunks_does_not_allocate() {
    let channels = 16;
    let n = (0.5 * TDT_RATE_HZ) as usize;
    let mut data = noise(n * channels, 42);
    data[5 * channels + 3] = f32::NAN;
    let mut good = vec![true; channels];
    good[7] = false;
    for design in [
        HgDesign::Broad,
        HgDesign::Bank8,
        HgDesign::Demod,
        HgDesign::Gauss8,
    ] {
        for frame_rate_hz in [100.0, 125.0] {
            let cfg = StreamingHgConfig {
                design,
                frame_rate_hz,
                zscore_baseline_s: 0.2,
                ..StreamingHgConfig::default()
            };
            let mut hg = StreamingHighGamma::new(&cfg, channels, TDT_RATE_HZ).unwrap();
            let mut frames = 0u64;
            let mut checksum = 0.0f64;
            let mut emit = |s: FrameStamp, f: &[f32]| {
                frames += 1;
                checksum += f64::from(f[0]) + s.frame_index as f64;
            };
            let mut pos = 0usize;
            let mut index = 0u64;
            for (k, len) in [1usize, 7, 25, 61, 200, 25, 3]
                .into_iter()
                .cycle()
                .enumerate()
            {
                if pos >= n {
                    break;
                }
                let len = len.min(n - pos);
                let chunk = &data[pos * channels..(pos + len) * channels];
                assert_no_alloc(|| {
                    hg.process(chunk, index, &good, &mut emit);
                    // A repeated chunk and, now and then, a gap exercise the other paths too.
                    if k % 5 == 0 {
                        hg.process(chunk, index, &good, &mut emit);
                    }
                });
                pos += len;
                index += len as u64 + u64::from(k % 11 == 10);
            }
            assert!(frames > 20, "{design:?}: only {frames} frames");
            assert!(checksum.is_finite());
            assert!(hg.stats().gap_samples > 0 && hg.stats().repeated_samples > 0);
            assert_no_alloc(|| hg.reset());
        }
    }
}
