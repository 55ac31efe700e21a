//! Signal processing. Invariant: this module knows nothing of transports, files or devices.

pub mod car;
pub mod highgamma;
pub mod iir;
pub mod layout;
pub mod quality;
pub mod resample;
pub mod stats;
pub mod testsignal;
