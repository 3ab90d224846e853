//! CloudWatch Embedded Metric Format (EMF): metrics written as one JSON line on
//! stdout, which CloudWatch Logs turns into metrics without any API call.
//!
//! ```
//! use frontdoor::emf::{MetricSet, Unit};
//!
//! let line = MetricSet::new("Frontdoor")
//!     .dimension("Probe", "api.example.com")
//!     .metric("Healthy", Unit::Count, 1.0)
//!     .to_json_line(1_700_000_000_000);
//! assert!(line.starts_with('{') && !line.contains('\n'));
//! ```
//!
//! The format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The unit of a metric, spelled as CloudWatch expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
    /// For values CloudWatch has no unit for, such as days.
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::None => "None",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Metric {
    name: String,
    unit: Unit,
    value: f64,
}

/// Where a run's metrics go: an EMF line on stdout in Lambda
/// ([`MetricSet::emit`]), elsewhere in tests.
pub type MetricsWriter = Box<dyn Fn(&MetricSet) -> std::io::Result<()> + Send + Sync>;

/// A set of metrics that share a namespace and one set of dimensions, written as
/// one EMF line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<Metric>,
}

impl MetricSet {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            dimensions: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Adds a dimension; a second value for the same name replaces the first.
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.dimensions.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = value,
            None => self.dimensions.push((name, value)),
        }
        self
    }

    /// Adds a metric; a second value for the same name replaces the first, because
    /// one EMF line holds one value per member.
    pub fn metric(mut self, name: impl Into<String>, unit: Unit, value: f64) -> Self {
        let name = name.into();
        match self.metrics.iter_mut().find(|m| m.name == name) {
            Some(existing) => {
                existing.unit = unit;
                existing.value = value;
            }
            None => self.metrics.push(Metric { name, unit, value }),
        }
        self
    }

    /// The EMF object as one line of JSON, without the trailing newline.
    ///
    /// Non-finite values are left out: JSON has no NaN or infinity, and CloudWatch
    /// would reject the whole line for one bad value.
    pub fn to_json_line(&self, timestamp_ms: u64) -> String {
        let metrics: Vec<&Metric> = self
            .metrics
            .iter()
            .filter(|m| m.value.is_finite())
            .collect();
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|m| json!({ "Name": m.name, "Unit": m.unit.as_str() }))
            .collect();

        let mut root = Map::new();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    // `[[]]` when there are no dimensions: metrics without dimensions.
                    "Dimensions": [dimension_names],
                    "Metrics": definitions,
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for metric in metrics {
            root.insert(metric.name.clone(), json!(metric.value));
        }
        Value::Object(root).to_string()
    }

    /// Writes the line, stamped with the current time, to stdout, where the Lambda
    /// log agent picks it up.
    pub fn emit(&self) -> std::io::Result<()> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", self.to_json_line(now_ms))?;
        stdout.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(set: &MetricSet) -> Value {
        serde_json::from_str(&set.to_json_line(1_700_000_000_123)).expect("valid JSON")
    }

    #[test]
    fn writes_directive_dimensions_and_values() {
        let doc = parse(
            &MetricSet::new("Frontdoor")
                .dimension("Probe", "api")
                .metric("Healthy", Unit::Count, 1.0)
                .metric("LatencyMs", Unit::Milliseconds, 12.5),
        );
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_123u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Frontdoor",
                        "Dimensions": [["Probe"]],
                        "Metrics": [
                            { "Name": "Healthy", "Unit": "Count" },
                            { "Name": "LatencyMs", "Unit": "Milliseconds" },
                        ],
                    }],
                },
                "Probe": "api",
                "Healthy": 1.0,
                "LatencyMs": 12.5,
            })
        );
    }

    #[test]
    fn no_dimensions_is_one_empty_dimension_set() {
        let doc = parse(&MetricSet::new("Frontdoor").metric("TargetsRegistered", Unit::Count, 3.0));
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(doc["TargetsRegistered"], json!(3.0));
    }

    #[test]
    fn repeated_names_replace_earlier_values() {
        let doc = parse(
            &MetricSet::new("N")
                .dimension("Probe", "a")
                .dimension("Probe", "b")
                .metric("Healthy", Unit::Count, 0.0)
                .metric("Healthy", Unit::Count, 1.0),
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([["Probe"]]));
        assert_eq!(directive["Metrics"].as_array().map(Vec::len), Some(1));
        assert_eq!(doc["Probe"], "b");
        assert_eq!(doc["Healthy"], json!(1.0));
    }

    #[test]
    fn non_finite_values_are_left_out() {
        let doc = parse(
            &MetricSet::new("N")
                .metric("Bad", Unit::None, f64::NAN)
                .metric("Good", Unit::Seconds, 2.0),
        );
        assert!(doc.get("Bad").is_none());
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{ "Name": "Good", "Unit": "Seconds" }])
        );
    }

    #[test]
    fn line_is_a_single_line() {
        let line = MetricSet::new("N")
            .dimension("Probe", "line\nbreak")
            .metric("Healthy", Unit::Count, 1.0)
            .to_json_line(0);
        assert!(!line.contains('\n'));
    }
}
