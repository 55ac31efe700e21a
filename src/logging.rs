//! Logging set-up shared by the binaries: tracing to stderr with an env-filter.

/// Installs a tracing subscriber writing to stderr; an invalid `filter` falls back to `info`.
pub fn init(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
