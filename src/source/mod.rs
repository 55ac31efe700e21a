//! Sources of raw sample blocks: the `Source` trait and its implementations.

pub mod guard;
pub mod synthetic;

use crate::block::SampleBlock;

/// Errors a source can report.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The stream ended (a finite file or a synthetic run of fixed length).
    #[error("the source has ended")]
    Ended,
    /// The source delivered something it should not have.
    #[error("bad input from source: {0}")]
    BadInput(String),
}

/// Something that produces raw multichannel sample blocks, in order.
pub trait Source: Send {
    /// Channel labels of the stream (fixed for the stream's life).
    fn labels(&self) -> std::sync::Arc<[String]>;
    /// Nominal sample rate in Hz.
    fn rate_hz(&self) -> f64;
    /// Next block of samples; blocks until one is available.
    fn next_block(&mut self) -> Result<SampleBlock, SourceError>;
    /// Whether the source runs on its own clock (live hardware, paced replay). A source that is
    /// not real time (fast replay, unpaced simulation) waits for the pipeline instead of being
    /// dropped when the raw queue is full.
    fn is_realtime(&self) -> bool {
        true
    }
    /// Speech-onset markers (source sample indices) that arrived with the last block.
    fn markers(&self) -> &[u64] {
        &[]
    }
}
