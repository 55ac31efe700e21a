//! Each kind of bad input gets a clear error or a counted repair, and nothing panics.

use neurovox::block::{SampleBlock, default_labels};
use neurovox::config::Config;
use neurovox::dsp::quality::ChannelFault;
use neurovox::npyio;
use neurovox::pipeline::{self, PipelineError, Summary};
use neurovox::source::{Source, SourceError};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

const RATE: f64 = 3051.7578125;
const BLOCK: usize = 25;

/// Changes a block before it is delivered (the block's ordinal, the block).
type Tamper = Box<dyn FnMut(usize, &mut SampleBlock) + Send>;

/// A test double of a source: blocks of noise, with per-block tampering.
struct ScriptedSource {
    n_ch: usize,
    blocks: usize,
    next: usize,
    index: u64,
    seed: u64,
    tamper: Tamper,
}

impl ScriptedSource {
    fn new(
        n_ch: usize,
        blocks: usize,
        tamper: impl FnMut(usize, &mut SampleBlock) + Send + 'static,
    ) -> Self {
        Self {
            n_ch,
            blocks,
            next: 0,
            index: 0,
            seed: 5,
            tamper: Box::new(tamper),
        }
    }
}

impl Source for ScriptedSource {
    fn labels(&self) -> Arc<[String]> {
        default_labels(self.n_ch)
    }
    fn rate_hz(&self) -> f64 {
        RATE
    }
    fn next_block(&mut self) -> Result<SampleBlock, SourceError> {
        if self.next == self.blocks {
            return Err(SourceError::Ended);
        }
        let mut data = vec![0.0f32; BLOCK * self.n_ch];
        for v in &mut data {
            self.seed = self
                .seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = ((self.seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 20.0;
        }
        let mut block = SampleBlock {
            first_index: self.index,
            received_at: Instant::now(),
            source_time_s: self.index as f64 / RATE,
            labels: default_labels(self.n_ch),
            rate_hz: RATE,
            data,
        };
        (self.tamper)(self.next, &mut block);
        self.index = block.end_index();
        self.next += 1;
        Ok(block)
    }
}

fn run(source: ScriptedSource) -> (Result<Summary, PipelineError>, Summary) {
    // No drops: these tests count repairs, not overload.
    run_with_queue(source, 100_000)
}

fn run_with_queue(
    source: ScriptedSource,
    capacity: usize,
) -> (Result<Summary, PipelineError>, Summary) {
    let mut cfg = Config::default();
    cfg.run.summary_interval_s = 0.0;
    cfg.run.raw_queue_blocks = capacity;
    let mut last = None;
    let result = pipeline::run(
        &cfg,
        Box::new(source),
        Arc::new(AtomicBool::new(false)),
        &mut |s| last = Some(s.clone()),
    );
    (result, last.expect("a final summary is always reported"))
}

#[test]
fn nan_and_inf_are_repaired_counted_and_flag_the_channel() {
    let source = ScriptedSource::new(8, 400, |i, b| {
        if i % 10 == 0 {
            b.data[3] = f32::NAN; // channel 3
            b.data[8 + 3] = f32::INFINITY;
            b.data[16 + 3] = f32::NEG_INFINITY;
        }
    });
    let (result, _) = run(source);
    let summary = result.expect("repairable input does not stop the pipeline");
    assert_eq!(summary.guard.non_finite_repaired, 120);
    assert!(
        summary.bad_channels.contains(&(3, ChannelFault::NonFinite)),
        "{:?}",
        summary.bad_channels
    );
    assert!(summary.frames > 0);
}

#[test]
fn flat_and_saturated_channels_are_flagged() {
    let source = ScriptedSource::new(8, 400, |_, b| {
        for s in b.data.chunks_exact_mut(8) {
            s[1] = 0.0;
            s[6] = (s[6] * 50.0).clamp(-100.0, 100.0);
        }
    });
    let (result, _) = run(source);
    let summary = result.unwrap();
    assert!(
        summary.bad_channels.contains(&(1, ChannelFault::Flat)),
        "{:?}",
        summary.bad_channels
    );
    assert!(
        summary.bad_channels.contains(&(6, ChannelFault::Saturated)),
        "{:?}",
        summary.bad_channels
    );
}

#[test]
fn a_channel_count_change_is_a_clear_error() {
    let source = ScriptedSource::new(8, 50, |i, b| {
        if i == 20 {
            b.labels = default_labels(9);
            b.data.resize(BLOCK * 9, 0.0);
        }
    });
    let (result, summary) = run(source);
    let err = result.expect_err("the channel count changed");
    assert!(
        err.to_string().contains("has 9 channels; the stream has 8"),
        "unexpected message: {err}"
    );
    assert_eq!(summary.guard.blocks, 20);
}

#[test]
fn sample_index_gaps_are_counted_and_filled() {
    let source = ScriptedSource::new(4, 300, |i, b| {
        if i % 50 == 49 {
            b.first_index += 7; // 7 samples lost before this block
        }
    });
    let (result, _) = run(source);
    let summary = result.unwrap();
    assert_eq!(summary.guard.gaps, 6);
    assert_eq!(summary.guard.filled_samples, 42);
    // Frames keep pace with the filled, contiguous stream.
    let expected_frames = ((300 * BLOCK + 42) as f64 / RATE * 100.0).floor() as u64;
    assert!(
        summary.frames.abs_diff(expected_frames) <= 1,
        "{} vs {expected_frames}",
        summary.frames
    );
}

#[test]
fn an_overloaded_pipeline_drops_whole_blocks_counts_them_and_fills_the_gaps() {
    // A real-time source that delivers instantly into a one-block queue, in front of 512
    // channels of DSP: the source must not wait, so blocks are dropped.
    let (n_blocks, n_ch) = (300, 512);
    let (result, _) = run_with_queue(ScriptedSource::new(n_ch, n_blocks, |_, _| {}), 1);
    let summary = result.unwrap();
    eprintln!("dropped {} of {n_blocks} blocks", summary.dropped_blocks);
    let k = summary.guard;
    assert!(
        summary.dropped_blocks > 0,
        "no block was dropped: the test did not overload"
    );
    // Every block was either processed or dropped and counted.
    assert_eq!(k.blocks + summary.dropped_blocks, n_blocks as u64);
    assert_eq!(k.samples, k.blocks * BLOCK as u64);
    // Dropped blocks before the last processed one became filled gaps of whole blocks.
    assert!(k.gaps >= 1 && k.filled_samples % BLOCK as u64 == 0);
    assert!(k.filled_samples <= summary.dropped_blocks * BLOCK as u64);
    assert_eq!(summary.hg_samples_in, k.samples + k.filled_samples);
}

#[test]
fn unreadable_or_misshaped_npy_names_the_file_and_shape() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.npy");
    let e = npyio::read_matrix_f32(&missing, 2).unwrap_err().to_string();
    assert!(e.contains("missing.npy"), "{e}");

    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"this is not an npy file").unwrap();
    let e = npyio::read_matrix_f32(&garbage, 2).unwrap_err().to_string();
    assert!(e.contains("garbage.npy") && e.contains("NPY"), "{e}");

    let one_d = dir.path().join("one_d.npy");
    ndarray_npy::write_npy(&one_d, &ndarray::Array1::<f32>::zeros(10)).unwrap();
    let e = npyio::read_matrix_f32(&one_d, 2).unwrap_err().to_string();
    assert!(
        e.contains("one_d.npy") && e.contains("found 1 dimensions"),
        "{e}"
    );

    let three_d = dir.path().join("three_d.npy");
    ndarray_npy::write_npy(&three_d, &ndarray::Array3::<f32>::zeros((2, 3, 4))).unwrap();
    let e = npyio::read_matrix_f32(&three_d, 2).unwrap_err().to_string();
    assert!(
        e.contains("three_d.npy") && e.contains("found 3 dimensions"),
        "{e}"
    );

    let ints = dir.path().join("ints.npy");
    ndarray_npy::write_npy(&ints, &ndarray::Array2::<i32>::zeros((5, 2))).unwrap();
    let e = npyio::read_matrix_f32(&ints, 2).unwrap_err().to_string();
    assert!(
        e.contains("ints.npy") && e.contains("float32 or float64"),
        "{e}"
    );

    let empty = dir.path().join("empty.npy");
    ndarray_npy::write_npy(&empty, &ndarray::Array2::<f32>::zeros((1, 0))).unwrap();
    let e = npyio::read_matrix_f32(&empty, 2).unwrap_err().to_string();
    assert!(e.contains("empty.npy has shape [1, 0]"), "{e}");

    let f64s = dir.path().join("f64.npy");
    ndarray_npy::write_npy(&f64s, &ndarray::Array2::<f64>::from_elem((3, 2), 1.5)).unwrap();
    assert_eq!(npyio::read_matrix_f32(&f64s, 2).unwrap()[[2, 1]], 1.5);
}
