//! Speech-responsive channel detection: the offline test of the spec and an online detector.

pub mod offline;
pub mod online;
