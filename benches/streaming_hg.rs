//! Throughput of the streaming high-gamma extractor, single thread, 8-ms chunks.
//!
//! Criterion measures 1 s of 3051.76 Hz data per iteration (throughput in channel-samples);
//! before that, a plain timing loop prints one JSON line per design and channel count with the
//! real-time factor (processing time / signal duration, single thread), e.g.
//! `{"design":"broad","channels":1024,"chunk_samples":25,"rtf":0.05,"channels_at_rtf_0_25":5120}`.
//!
//! Run: `cargo bench --bench streaming_hg -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use neurovox::TDT_RATE_HZ;
use neurovox::block::FrameStamp;
use neurovox::dsp::highgamma::streaming::{HgDesign, StreamingHgConfig, StreamingHighGamma};

/// Samples per chunk: 8 ms at 3051.76 Hz, a typical LSL/TDT chunk.
const CHUNK_SAMPLES: usize = 25;
const CHANNEL_COUNTS: [usize; 2] = [256, 1024];
const DESIGNS: [(HgDesign, &str); 4] = [
    (HgDesign::Broad, "broad"),
    (HgDesign::Demod, "demod"),
    (HgDesign::Bank8, "bank8"),
    (HgDesign::Gauss8, "gauss8"),
];

fn signal(channels: usize, seconds: f64) -> Vec<f32> {
    let n = (seconds * TDT_RATE_HZ) as usize * channels;
    neurovox::dsp::testsignal::uniform_noise(n, 0x2545_F491_4F6C_DD1D)
}

/// Feeds `data` in `CHUNK_SAMPLES` chunks continuing from `*index`, as the daemon would.
fn run(hg: &mut StreamingHighGamma, data: &[f32], good: &[bool], index: &mut u64) -> f32 {
    let channels = hg.n_channels();
    let mut last = 0.0f32;
    let mut emit = |_: FrameStamp, f: &[f32]| last += f[0];
    for chunk in data.chunks(CHUNK_SAMPLES * channels) {
        hg.process(chunk, *index, good, &mut emit);
        *index += (chunk.len() / channels) as u64;
    }
    last
}

fn extractor(design: HgDesign, channels: usize) -> StreamingHighGamma {
    let cfg = StreamingHgConfig {
        design,
        ..StreamingHgConfig::default()
    };
    match StreamingHighGamma::new(&cfg, channels, TDT_RATE_HZ) {
        Ok(hg) => hg,
        Err(e) => panic!("bench config rejected: {e}"),
    }
}

/// Prints the real-time factor of each design as JSON lines (best of a few 1-s runs).
fn rtf_report() {
    let seconds = 1.0;
    for (design, name) in DESIGNS {
        for channels in CHANNEL_COUNTS {
            let data = signal(channels, seconds);
            let good = vec![true; channels];
            let mut hg = extractor(design, channels);
            let mut index = 0u64;
            black_box(run(&mut hg, &data, &good, &mut index));
            let mut best = Duration::MAX;
            for _ in 0..3 {
                let t = Instant::now();
                black_box(run(&mut hg, black_box(&data), &good, &mut index));
                best = best.min(t.elapsed());
            }
            let rtf = best.as_secs_f64() / seconds;
            println!(
                "{{\"design\":\"{name}\",\"channels\":{channels},\"chunk_samples\":{CHUNK_SAMPLES},\"rtf\":{rtf:.4},\"channels_at_rtf_0_25\":{}}}",
                (channels as f64 * 0.25 / rtf).floor()
            );
        }
    }
}

fn bench_streaming(c: &mut Criterion) {
    let mut group = c.benchmark_group("streaming_hg_1s_8ms_chunks");
    for (design, name) in DESIGNS {
        for channels in CHANNEL_COUNTS {
            let data = signal(channels, 1.0);
            let good = vec![true; channels];
            let mut hg = extractor(design, channels);
            let mut index = 0u64;
            group.throughput(Throughput::Elements(data.len() as u64));
            group.bench_with_input(BenchmarkId::new(name, channels), &data, |b, data| {
                b.iter(|| run(&mut hg, black_box(data), &good, &mut index));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_streaming);

fn main() {
    rtf_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
