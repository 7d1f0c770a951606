//! Prometheus metrics (prometheus-client), served on the admin port at `/metrics`.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::time::Duration;
use vmimage_shared::{api::ImageKind, policy::Violation};

/// What the webhook answered.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Decision {
    /// Allowed without a patch.
    Allowed,
    /// Allowed with a patch.
    Mutated,
    /// Denied.
    Denied,
    /// The request could not be read (HTTP 400) or answered.
    Error,
}

impl Decision {
    /// The label value (and log field) for this decision.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Mutated => "mutated",
            Self::Denied => "denied",
            Self::Error => "error",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a watch was restarted with a full list.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum WatchLoss {
    /// The resourceVersion to resume from was compacted away (410 Gone).
    Expired,
    /// Any other error: the apiserver unreachable, a refused request, a broken stream.
    Failed,
}

impl WatchLoss {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WatchLabels {
    watch: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
    /// Why: `Resolved`, `NotFound`, `Ambiguous`, `Mismatch`, `Policy`, `Unconfirmed`, …
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SettledLabel {
    /// `watch` (delivered within the grace), `live` (a LIST) or `grace` (the synced
    /// watch after the grace, on indexes too large to LIST).
    by: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ViolationLabels {
    policy: String,
    mode: String,
    rule: &'static str,
}

/// The webhook's metrics and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    admissions: Family<ResultLabel, Counter>,
    duration: Histogram,
    images: Family<KindLabel, Gauge>,
    synced: Family<KindLabel, Gauge>,
    live_reads: Counter,
    live_reads_skipped: Counter,
    misses_settled: Family<SettledLabel, Counter>,
    violations: Family<ViolationLabels, Counter>,
    watch_restarts: Family<WatchLabels, Counter>,
    requests_refused: Family<ReasonLabel, Counter>,
    connections_refused: Counter,
    connections_idle_closed: Counter,
}

/// Latency buckets in seconds: 50 µs to 1 s.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

// === impl Metrics ===

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let admissions = Family::<ResultLabel, Counter>::default();
        let duration = Histogram::new(BUCKETS);
        let images = Family::<KindLabel, Gauge>::default();
        let synced = Family::<KindLabel, Gauge>::default();
        let live_reads = Counter::default();
        let live_reads_skipped = Counter::default();
        let misses_settled = Family::<SettledLabel, Counter>::default();
        let violations = Family::<ViolationLabels, Counter>::default();
        let watch_restarts = Family::<WatchLabels, Counter>::default();
        let requests_refused = Family::<ReasonLabel, Counter>::default();
        let connections_refused = Counter::default();
        let connections_idle_closed = Counter::default();
        registry.register(
            "vmimage_requests_refused",
            "Admission requests refused before the handler: BodyBudget (503), BodyTimeout (408), TooLarge (413)",
            requests_refused.clone(),
        );
        registry.register(
            "vmimage_connections_refused",
            "Admission connections closed at once because --max-connections were open",
            connections_refused.clone(),
        );
        registry.register(
            "vmimage_connections_idle_closed",
            "Admission connections closed after --idle-timeout without a request in flight",
            connections_idle_closed.clone(),
        );
        registry.register(
            "vmimage_admissions",
            "AdmissionReviews answered, by result and reason",
            admissions.clone(),
        );
        registry.register(
            "vmimage_admission_duration_seconds",
            "Time to answer an AdmissionReview",
            duration.clone(),
        );
        registry.register(
            "vmimage_index_images",
            "Images in the index, by kind",
            images.clone(),
        );
        registry.register(
            "vmimage_index_synced",
            "1 when the watch of that image kind has completed its (re-)list",
            synced.clone(),
        );
        registry.register(
            "vmimage_live_reads",
            "Live reads from the API server to confirm a resolution",
            live_reads.clone(),
        );
        registry.register(
            "vmimage_live_reads_skipped",
            "Live image reads not tried because one timed out moments before",
            live_reads_skipped.clone(),
        );
        registry.register(
            "vmimage_misses_settled",
            "Index misses (names it could not resolve, or warnings) by what settled them",
            misses_settled.clone(),
        );
        registry.register(
            "vmimage_policy_violations",
            "Image policy rules violated by admitted or denied VirtualMachines, by policy, mode and rule",
            violations.clone(),
        );
        registry.register(
            "vmimage_log_lines_dropped",
            "Log lines dropped because the log queue was full or stderr could not be written",
            crate::log_sink::dropped().clone(),
        );
        registry.register(
            "vmimage_watch_restarts",
            "Watches dropped after an error and restarted with a full list, by watch and reason",
            watch_restarts.clone(),
        );
        for kind in [
            ImageKind::VirtualMachineImage,
            ImageKind::ClusterVirtualMachineImage,
        ] {
            let label = KindLabel { kind: kind.as_str() };
            images.get_or_create(&label).set(0);
            synced.get_or_create(&label).set(0);
        }
        Self {
            registry,
            admissions,
            duration,
            images,
            synced,
            live_reads,
            live_reads_skipped,
            misses_settled,
            violations,
            watch_restarts,
            requests_refused,
            connections_refused,
            connections_idle_closed,
        }
    }

    /// Counts one request refused before the handler, for `reason`.
    pub fn request_refused(&self, reason: &'static str) {
        self.requests_refused.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// Counts one connection closed at once for --max-connections.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Counts one connection closed for --idle-timeout.
    pub fn connection_idle_closed(&self) {
        self.connections_idle_closed.inc();
    }

    /// Counts one answered review, why it was answered so, and its latency.
    pub fn admission(&self, result: Decision, reason: &'static str, took: Duration) {
        self.admissions
            .get_or_create(&ResultLabel {
                result: result.as_str(),
                reason,
            })
            .inc();
        self.duration.observe(took.as_secs_f64());
    }

    /// Records the index size and sync state of one kind.
    pub fn index(&self, kind: ImageKind, images: usize, synced: bool) {
        let label = KindLabel { kind: kind.as_str() };
        self.images
            .get_or_create(&label)
            .set(i64::try_from(images).unwrap_or(i64::MAX));
        self.synced.get_or_create(&label).set(i64::from(synced));
    }

    /// Counts one live read.
    pub fn live_read(&self) {
        self.live_reads.inc();
    }

    /// Counts one index miss settled `by` the watch, a live read, the grace or a re-list.
    pub fn miss_settled(&self, by: &'static str) {
        self.misses_settled.get_or_create(&SettledLabel { by }).inc();
    }

    /// Counts one live read skipped after a timeout (see `breaker`).
    pub fn live_read_skipped(&self) {
        self.live_reads_skipped.inc();
    }

    /// Counts one violated policy rule.
    pub fn violation(&self, violation: &Violation) {
        self.violations
            .get_or_create(&ViolationLabels {
                policy: violation.policy.clone(),
                mode: violation.mode.to_string(),
                rule: violation.rule,
            })
            .inc();
    }

    /// Counts one watch dropped for `reason` (it restarts with a full list).
    pub fn watch_lost(&self, watch: &'static str, reason: WatchLoss) {
        self.watch_restarts
            .get_or_create(&WatchLabels {
                watch,
                reason: reason.as_str(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_metric() {
        let m = Metrics::new();
        m.admission(Decision::Mutated, "Resolved", Duration::from_micros(80));
        m.index(ImageKind::ClusterVirtualMachineImage, 7, true);
        m.live_read();
        m.live_read_skipped();
        m.watch_lost("Namespace", WatchLoss::Expired);
        m.request_refused("BodyBudget");
        m.connection_refused();
        m.connection_idle_closed();
        m.violation(&Violation {
            policy: "legacy".into(),
            mode: vmimage_shared::policy::Mode::Audit,
            rule: "deniedNames",
            message: "image vmi-1 matches".into(),
        });
        let text = m.render();
        for needle in [
            r#"vmimage_admissions_total{result="mutated",reason="Resolved"} 1"#,
            "vmimage_admission_duration_seconds_bucket{le=\"0.0001\"} 1",
            r#"vmimage_index_images{kind="ClusterVirtualMachineImage"} 7"#,
            r#"vmimage_index_synced{kind="ClusterVirtualMachineImage"} 1"#,
            r#"vmimage_index_synced{kind="VirtualMachineImage"} 0"#,
            "vmimage_live_reads_total 1",
            "vmimage_live_reads_skipped_total 1",
            "vmimage_log_lines_dropped_total ",
            r#"vmimage_requests_refused_total{reason="BodyBudget"} 1"#,
            "vmimage_connections_refused_total 1",
            "vmimage_connections_idle_closed_total 1",
            r#"vmimage_watch_restarts_total{watch="Namespace",reason="expired"} 1"#,
            r#"vmimage_policy_violations_total{policy="legacy",mode="Audit",rule="deniedNames"} 1"#,
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}
