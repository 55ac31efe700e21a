//! High-gamma extraction: the offline Chang-lab reference and the causal streaming front end.

pub mod offline;
pub mod streaming;
