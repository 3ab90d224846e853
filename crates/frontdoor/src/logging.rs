//! Logging of the function binaries, set by Lambda's advanced logging controls:
//! JSON lines under `AWS_LAMBDA_LOG_FORMAT=JSON`, the level from
//! `AWS_LAMBDA_LOG_LEVEL`, else the `target=level` directives of `RUST_LOG`, else
//! INFO.
//!
//! Like `lambda_runtime::tracing::init_default_subscriber`, with a
//! [`Targets`] filter in place of `EnvFilter`: `Targets` reads the same directives
//! without a regex engine, which keeps 310 KB out of the arm64 `bootstrap` of
//! `eni-targets` (6,092,952 bytes before, 5,782,328 after).

use std::str::FromStr;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber, writing to stdout as Lambda expects.
pub fn init() {
    let settings = LogSettings::from_lookup(|name| std::env::var(name).ok());
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(settings.filter);
    if settings.json {
        registry.with(format.json()).init();
    } else {
        registry.with(format).init();
    }
}

/// What the environment asks of the logs.
#[derive(Debug)]
struct LogSettings {
    json: bool,
    filter: Targets,
}

impl LogSettings {
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
        let filter = match lookup("AWS_LAMBDA_LOG_LEVEL") {
            Some(level) => Targets::new().with_default(lambda_level(&level)),
            // A malformed RUST_LOG must not stop the function: fall back to INFO.
            None => lookup("RUST_LOG")
                .and_then(|directives| Targets::from_str(&directives).ok())
                .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO)),
        };
        LogSettings { json, filter }
    }
}

/// Lambda's levels are TRACE, DEBUG, INFO, WARN, ERROR and FATAL; tracing has no
/// FATAL, so it keeps errors only.
fn lambda_level(level: &str) -> LevelFilter {
    if level.eq_ignore_ascii_case("fatal") {
        return LevelFilter::ERROR;
    }
    LevelFilter::from_str(level).unwrap_or(LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::LogSettings;
    use tracing::Level;

    fn settings(vars: &[(&str, &str)]) -> LogSettings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LogSettings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_to_text_at_info() {
        let s = settings(&[]);
        assert!(!s.json);
        assert!(s.filter.would_enable("frontdoor", &Level::INFO));
        assert!(!s.filter.would_enable("frontdoor", &Level::DEBUG));
    }

    #[test]
    fn json_under_lambda_advanced_logging() {
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).json);
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "json")]).json);
        assert!(!settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).json);
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")]);
        assert!(s.filter.would_enable("aws_smithy_runtime", &Level::DEBUG));
        assert!(!s.filter.would_enable("aws_smithy_runtime", &Level::TRACE));
    }

    #[test]
    fn fatal_keeps_errors_only_and_unknown_levels_mean_info() {
        let fatal = settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]);
        assert!(fatal.filter.would_enable("x", &Level::ERROR));
        assert!(!fatal.filter.would_enable("x", &Level::WARN));
        let unknown = settings(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]);
        assert!(unknown.filter.would_enable("x", &Level::INFO));
        assert!(!unknown.filter.would_enable("x", &Level::DEBUG));
    }

    #[test]
    fn rust_log_directives_per_target() {
        let s = settings(&[("RUST_LOG", "warn,frontdoor=debug")]);
        assert!(s.filter.would_enable("frontdoor::sync", &Level::DEBUG));
        assert!(!s.filter.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(s.filter.would_enable("aws_smithy_runtime", &Level::WARN));
    }

    #[test]
    fn malformed_rust_log_falls_back_to_info() {
        let s = settings(&[("RUST_LOG", "frontdoor=loud=x")]);
        assert!(s.filter.would_enable("frontdoor", &Level::INFO));
        assert!(!s.filter.would_enable("frontdoor", &Level::DEBUG));
    }
}
