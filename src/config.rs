//! The daemon's TOML configuration: one documented struct per stage, validated into errors that
//! name the field. `neurovox config example` prints [`EXAMPLE`], which parses to the defaults.

use crate::dsp::highgamma::streaming::StreamingHgConfig;
use crate::source::guard::GuardConfig;
use crate::source::synthetic::SyntheticConfig;
use std::path::Path;

/// Which source feeds the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The built-in synthetic ECoG generator (`[synthetic]`).
    Synthetic,
}

/// `[source]`: where raw samples come from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// The source kind.
    pub kind: SourceKind,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            kind: SourceKind::Synthetic,
        }
    }
}

/// `[responsive]`: the online speech-responsive channel detector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponsiveConfig {
    /// Family-wise significance level; each channel is tested at alpha / channels.
    pub alpha: f64,
}

impl Default for ResponsiveConfig {
    fn default() -> Self {
        Self { alpha: 0.01 }
    }
}

/// `[run]`: how long to run and how often to print a summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Seconds between live summaries on stdout; 0 turns them off.
    pub summary_interval_s: f64,
    /// Capacity, in blocks, of the queue from acquisition to DSP.
    pub raw_queue_blocks: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            summary_interval_s: 2.0,
            raw_queue_blocks: 256,
        }
    }
}

/// The whole daemon configuration.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where samples come from.
    pub source: SourceConfig,
    /// The synthetic generator.
    pub synthetic: SyntheticConfig,
    /// Input repair and channel quality.
    pub guard: GuardConfig,
    /// Streaming high gamma.
    pub highgamma: StreamingHgConfig,
    /// Online responsive channels.
    pub responsive: ResponsiveConfig,
    /// Run control.
    pub run: RunConfig,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax error, unknown field or wrong type (the message names the key and line).
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range; the message names the field.
    #[error("config {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        cfg.validate().map_err(|message| ConfigError::Invalid {
            path: origin.to_string(),
            message,
        })?;
        Ok(cfg)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Checks every section; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.synthetic.validate()?;
        self.guard.validate()?;
        let rate = match self.source.kind {
            SourceKind::Synthetic => self.synthetic.rate_hz,
        };
        self.highgamma.validate(rate).map_err(|e| e.to_string())?;
        if !(self.responsive.alpha > 0.0 && self.responsive.alpha < 1.0) {
            return Err(format!(
                "responsive.alpha must be in (0, 1), got {}",
                self.responsive.alpha
            ));
        }
        if self.run.summary_interval_s.is_nan() || self.run.summary_interval_s < 0.0 {
            return Err("run.summary_interval_s must be ≥ 0".into());
        }
        if self.run.raw_queue_blocks == 0 {
            return Err("run.raw_queue_blocks must be ≥ 1".into());
        }
        Ok(())
    }
}

/// A complete, commented configuration with every default spelled out.
pub const EXAMPLE: &str = include_str!("config_example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_complete_and_equals_the_defaults() {
        let parsed = Config::from_toml(EXAMPLE, "example").unwrap();
        assert_eq!(parsed, Config::default());
        // Every field of the defaults appears in the example (no section left implicit).
        let defaults = toml::to_string(&Config::default()).unwrap();
        for line in defaults.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap().trim();
            assert!(
                EXAMPLE.contains(&format!("{key} =")),
                "example lacks `{key}`"
            );
        }
    }

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        let e = Config::from_toml("[highgamma]\nframe_rate = 100\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("frame_rate"), "{e}");
        let e = Config::from_toml("[highgamma]\nframe_rate_hz = -5.0\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("highgamma.frame_rate_hz"), "{e}");
        let e = Config::from_toml("[synthetic]\nchannels = 0\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("synthetic.channels"), "{e}");
        let e = Config::from_toml("[responsive]\nalpha = 2.0\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("responsive.alpha"), "{e}");
    }
}
