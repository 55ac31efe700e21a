//! neurovox: live ECoG to high gamma to decoded speech, and the library behind `neurovox-tools`.
//!
//! The crate is organised by pipeline stage; see ARCHITECTURE.md for the code map and invariants.

pub mod block;
pub mod channels;
pub mod config;
pub mod dsp;
pub mod logging;
pub mod npyio;
pub mod pipeline;
pub mod source;

/// Nominal sample rate of TDT ECoG streams (RZ base rate 24414.0625 Hz / 8).
pub const TDT_RATE_HZ: f64 = 3051.7578125;

/// In unit tests every allocation goes through `assert_no_alloc`, so tests can prove that hot
/// paths do not allocate (outside `assert_no_alloc(|| ...)` it behaves as the system allocator).
#[cfg(all(test, debug_assertions))]
#[global_allocator]
static ALLOC_GUARD: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
