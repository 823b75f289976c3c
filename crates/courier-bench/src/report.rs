//! Results: medians over rounds, Courier's ratios to each anchor, the targets, as a table or JSON.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::clients::ClientKind;
use crate::scenarios::{Better, External, Participant, Sample, ScenarioId, Settings};

/// What became of one participant in one scenario.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// One sample per round.
    Measured(Vec<Sample>),
    /// Not run (a tool missing from `PATH`).
    Skipped(String),
    /// An error; nothing from this participant is reported for the scenario.
    Failed(String),
}

/// One scenario's outcomes.
#[derive(Clone, Debug)]
pub struct ScenarioReport {
    pub scenario: ScenarioId,
    pub title: String,
    pub outcomes: Vec<(Participant, Outcome)>,
}

impl ScenarioReport {
    fn samples(&self, participant: Participant) -> Option<&[Sample]> {
        self.outcomes.iter().find_map(|(p, outcome)| match outcome {
            Outcome::Measured(samples) if *p == participant && !samples.is_empty() => {
                Some(samples.as_slice())
            }
            _ => None,
        })
    }

    /// The median over rounds of metric `index`.
    pub fn median(&self, participant: Participant, index: usize) -> Option<f64> {
        let mut values: Vec<f64> = self
            .samples(participant)?
            .iter()
            .filter_map(|s| s.values.get(index).copied())
            .filter(|v| v.is_finite())
            .collect();
        median(&mut values)
    }

    /// Whether every round's responses were checked and right.
    pub fn verified(&self, participant: Participant) -> Option<bool> {
        Some(self.samples(participant)?.iter().all(|s| s.verified))
    }
}

/// The median (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// A bound the issue sets on Courier's figure, relative to an anchor or absolute.
#[derive(Clone, Copy, Debug)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
}

impl Bound {
    fn holds(self, value: f64) -> bool {
        match self {
            Bound::AtLeast(b) => value >= b,
            Bound::AtMost(b) => value <= b,
            Bound::Below(b) => value < b,
        }
    }

    fn describe(self) -> String {
        match self {
            Bound::AtLeast(b) => format!(">= {b:.2}"),
            Bound::AtMost(b) => format!("<= {b:.2}"),
            Bound::Below(b) => format!("< {b:.2}"),
        }
    }
}

/// A target from issue 5: Courier's `metric` in `scenario`, divided by `anchor` (or absolute).
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub scenario: ScenarioId,
    pub metric: &'static str,
    pub anchor: Option<Participant>,
    pub bound: Bound,
}

const REQWEST: Participant = Participant::Client(ClientKind::Reqwest);
const HYPER_UTIL: Participant = Participant::Client(ClientKind::HyperUtil);
const COURIER: Participant = Participant::Client(ClientKind::Courier);
const REQWEST_SHIPPED: Participant = Participant::External(External::ReqwestShipped);

/// The targets of issue 5.
pub const TARGETS: &[Target] = &[
    Target {
        scenario: ScenarioId::Concurrent,
        metric: "rps",
        anchor: Some(REQWEST),
        bound: Bound::AtLeast(1.10),
    },
    Target {
        scenario: ScenarioId::Concurrent,
        metric: "rps",
        anchor: Some(HYPER_UTIL),
        bound: Bound::AtLeast(0.95),
    },
    Target {
        scenario: ScenarioId::Concurrent,
        metric: "rps",
        anchor: Some(Participant::External(External::Wrk)),
        bound: Bound::AtLeast(0.5),
    },
    Target {
        scenario: ScenarioId::Body1m,
        metric: "mb_s",
        anchor: Some(REQWEST),
        bound: Bound::AtLeast(1.0),
    },
    Target {
        scenario: ScenarioId::Gzip1m,
        metric: "mb_s",
        anchor: Some(REQWEST),
        bound: Bound::AtLeast(1.0),
    },
    Target {
        scenario: ScenarioId::Gzip1m,
        metric: "mb_s",
        anchor: Some(REQWEST_SHIPPED),
        bound: Bound::AtLeast(1.30),
    },
    Target {
        scenario: ScenarioId::Deflate1m,
        metric: "mb_s",
        anchor: Some(REQWEST_SHIPPED),
        bound: Bound::AtLeast(1.30),
    },
    Target {
        scenario: ScenarioId::Br1m,
        metric: "mb_s",
        anchor: Some(REQWEST_SHIPPED),
        bound: Bound::AtLeast(1.10),
    },
    Target {
        scenario: ScenarioId::Zstd1m,
        metric: "mb_s",
        anchor: Some(REQWEST_SHIPPED),
        bound: Bound::AtLeast(1.10),
    },
    Target {
        scenario: ScenarioId::Bulk,
        metric: "wall_s",
        anchor: Some(Participant::External(External::Curl)),
        bound: Bound::AtMost(1.0),
    },
    Target {
        scenario: ScenarioId::Bulk,
        metric: "peak_rss_mib",
        anchor: None,
        bound: Bound::Below(64.0),
    },
    Target {
        scenario: ScenarioId::Allocs,
        metric: "allocs",
        anchor: Some(REQWEST),
        bound: Bound::Below(1.0),
    },
    // Issue 11's HTTP/2 targets.
    Target {
        scenario: ScenarioId::H2c,
        metric: "rps",
        anchor: Some(HYPER_UTIL),
        bound: Bound::AtLeast(1.0),
    },
    Target {
        scenario: ScenarioId::H2c16,
        metric: "rps",
        anchor: Some(HYPER_UTIL),
        bound: Bound::AtLeast(1.0),
    },
    Target {
        scenario: ScenarioId::H2c16Slow,
        metric: "rps",
        anchor: Some(HYPER_UTIL),
        bound: Bound::AtLeast(1.0),
    },
];

/// The anchors Courier is compared with, in column order.
const ANCHORS: [Participant; 5] = [
    REQWEST,
    HYPER_UTIL,
    Participant::External(External::Wrk),
    Participant::External(External::Curl),
    REQWEST_SHIPPED,
];

/// One ratio of Courier's median to an anchor's.
struct Ratio {
    scenario: ScenarioId,
    metric: &'static str,
    anchor: Participant,
    courier: f64,
    anchor_value: f64,
    /// Both sides' responses were checked and right: otherwise the ratio compares unlike work.
    comparable: bool,
    target: Option<Bound>,
}

impl Ratio {
    fn value(&self) -> f64 {
        self.courier / self.anchor_value
    }

    fn met(&self) -> Option<bool> {
        let bound = self.target?;
        Some(self.comparable && bound.holds(self.value()))
    }
}

/// Everything measured in one run.
pub struct Report {
    pub settings: Settings,
    pub machine: Value,
    /// Size of the gzip-encoded 1 MiB body as sent.
    pub gzip_wire_bytes: usize,
    /// Each client's request future size in bytes (see `Client::request_future_size`).
    pub future_sizes: Vec<(ClientKind, usize)>,
    pub scenarios: Vec<ScenarioReport>,
}

impl Report {
    fn ratios(&self) -> Vec<Ratio> {
        let mut ratios = Vec::new();
        for report in &self.scenarios {
            for (index, metric) in report.scenario.metrics().iter().enumerate() {
                // A zero figure (a CPU time under the clock's tick) has no meaningful ratio.
                let Some(courier) = report.median(COURIER, index).filter(|v| *v > 0.0) else {
                    continue;
                };
                for anchor in ANCHORS {
                    let Some(anchor_value) = report.median(anchor, index) else {
                        continue;
                    };
                    if anchor_value <= 0.0 {
                        continue;
                    }
                    let target = TARGETS
                        .iter()
                        .find(|t| {
                            t.scenario == report.scenario
                                && t.metric == metric.key
                                && t.anchor == Some(anchor)
                        })
                        .map(|t| t.bound);
                    ratios.push(Ratio {
                        scenario: report.scenario,
                        metric: metric.key,
                        anchor,
                        courier,
                        anchor_value,
                        comparable: report.verified(COURIER) == Some(true)
                            && report.verified(anchor) == Some(true),
                        target,
                    });
                }
            }
        }
        ratios
    }

    fn absolute_targets(&self) -> Vec<(Target, Option<f64>)> {
        TARGETS
            .iter()
            .filter(|t| t.anchor.is_none())
            .filter_map(|t| {
                let report = self.scenarios.iter().find(|r| r.scenario == t.scenario)?;
                let index = t
                    .scenario
                    .metrics()
                    .iter()
                    .position(|m| m.key == t.metric)?;
                Some((*t, report.median(COURIER, index)))
            })
            .collect()
    }

    /// Whether any in-process client failed, or returned wrong bodies.
    pub fn has_failures(&self) -> bool {
        self.scenarios.iter().any(|r| {
            r.outcomes.iter().any(|(p, o)| match o {
                Outcome::Failed(_) => true,
                Outcome::Measured(samples) => {
                    matches!(p, Participant::Client(_)) && samples.iter().any(|s| !s.verified)
                }
                Outcome::Skipped(_) => false,
            })
        })
    }

    /// The machine-readable report.
    pub fn to_json(&self) -> Value {
        let s = &self.settings;
        let scenarios: Vec<Value> = self
            .scenarios
            .iter()
            .map(|report| {
                let metrics = report.scenario.metrics();
                let mut results = Map::new();
                for (participant, outcome) in &report.outcomes {
                    let value = match outcome {
                        Outcome::Skipped(reason) => json!({"status": "skipped", "reason": reason}),
                        Outcome::Failed(error) => json!({"status": "failed", "reason": error}),
                        Outcome::Measured(samples) => {
                            let median: Map<String, Value> = metrics
                                .iter()
                                .enumerate()
                                .map(|(i, m)| {
                                    (m.key.to_owned(), json!(report.median(*participant, i)))
                                })
                                .collect();
                            let rounds: Vec<Value> = samples
                                .iter()
                                .map(|sample| {
                                    let mut round: Map<String, Value> = metrics
                                        .iter()
                                        .zip(&sample.values)
                                        .map(|(m, v)| (m.key.to_owned(), json!(v)))
                                        .collect();
                                    round.insert("requests".into(), json!(sample.requests));
                                    round.insert(
                                        "bytes_received".into(),
                                        json!(sample.bytes_received),
                                    );
                                    round.insert(
                                        "bytes_expected".into(),
                                        json!(sample.bytes_expected),
                                    );
                                    round.insert("verified".into(), json!(sample.verified));
                                    round.insert("note".into(), json!(sample.note));
                                    Value::Object(round)
                                })
                                .collect();
                            json!({
                                "status": "ok",
                                "verified": samples.iter().all(|s| s.verified),
                                "median": median,
                                "rounds": rounds,
                            })
                        }
                    };
                    results.insert(participant.name().to_owned(), value);
                }
                json!({
                    "id": report.scenario.id(),
                    "title": report.title,
                    "metrics": metrics.iter().map(|m| json!({
                        "key": m.key,
                        "label": m.label,
                        "better": if m.better == Better::Higher { "higher" } else { "lower" },
                    })).collect::<Vec<_>>(),
                    "results": results,
                })
            })
            .collect();
        let ratios: Vec<Value> = self
            .ratios()
            .iter()
            .map(|r| {
                json!({
                    "scenario": r.scenario.id(),
                    "metric": r.metric,
                    "anchor": r.anchor.name(),
                    "courier": r.courier,
                    "anchor_value": r.anchor_value,
                    "ratio": r.value(),
                    "comparable": r.comparable,
                    "target": r.target.map(Bound::describe),
                    "met": r.met(),
                })
            })
            .collect();
        let absolute: Vec<Value> = self
            .absolute_targets()
            .iter()
            .map(|(t, courier)| {
                json!({
                    "scenario": t.scenario.id(),
                    "metric": t.metric,
                    "courier": courier,
                    "target": t.bound.describe(),
                    "met": courier.map(|c| t.bound.holds(c)),
                })
            })
            .collect();
        json!({
            "harness": "courier-bench",
            "mode": s.mode,
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "machine": self.machine,
            "settings": {
                "rounds": s.rounds,
                "server_threads": s.server_threads,
                "server_congestion_control": s.server_congestion.as_deref().unwrap_or("system"),
                "client_runtime": "tokio current_thread (one thread)",
                "latency_requests": s.latency_requests,
                "concurrent_requests": s.concurrent_requests,
                "in_flight": s.in_flight,
                "medium_requests": s.medium_requests,
                "large_requests": s.large_requests,
                "gzip_requests": s.gzip_requests,
                "bulk_files": s.bulk_files,
                "bulk_total_bytes": s.bulk_total,
                "bulk_in_flight": s.bulk_in_flight,
                "alloc_requests": s.alloc_requests,
                "pool_requests": s.pool_requests,
                "pool_ports": s.pool_ports,
                "pool_burst": s.pool_burst,
                "pool_per_host_cap": s.pool_per_host_cap,
                "pool_in_flight": s.pool_in_flight,
                "wrk_secs": s.wrk_secs,
                "gzip_1m_wire_bytes": self.gzip_wire_bytes,
            },
            "request_future_bytes": self
                .future_sizes
                .iter()
                .map(|(kind, size)| (kind.name().to_owned(), json!(size)))
                .collect::<Map<String, Value>>(),
            "scenarios": scenarios,
            "ratios": ratios,
            "absolute_targets": absolute,
        })
    }

    /// The human-readable report.
    pub fn to_table(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let build = if cfg!(debug_assertions) {
            "DEBUG build: figures are meaningless, use --release"
        } else {
            "release build"
        };
        let _ = writeln!(
            out,
            "courier-bench, {} mode, {}, median of {} round(s); server: {} thread(s), congestion \
             control {}; clients: one current_thread runtime",
            s.mode,
            build,
            s.rounds,
            s.server_threads,
            s.server_congestion.clone().unwrap_or_else(|| format!(
                "the system's ({})",
                self.machine["tcp_congestion_control"]
                    .as_str()
                    .unwrap_or("unknown")
            ))
        );
        let _ = writeln!(
            out,
            "machine: {}\n",
            self.machine["summary"].as_str().unwrap_or("?")
        );

        let _ = write!(out, "{:<38}{:<20}", "scenario", "metric");
        for p in Participant::ALL {
            let _ = write!(out, " {:>18}", p.name());
        }
        out.push('\n');
        let mut notes = Vec::new();
        for report in &self.scenarios {
            for (index, metric) in report.scenario.metrics().iter().enumerate() {
                let title = if index == 0 {
                    report.title.as_str()
                } else {
                    ""
                };
                let arrow = if metric.better == Better::Higher {
                    "↑"
                } else {
                    "↓"
                };
                let _ = write!(
                    out,
                    "{:<38}{:<20}",
                    title,
                    format!("{} {arrow}", metric.label)
                );
                for p in Participant::ALL {
                    let cell = match report.outcomes.iter().find(|(q, _)| *q == p) {
                        None => "–".to_owned(),
                        Some((_, Outcome::Skipped(_))) => "skipped".to_owned(),
                        Some((_, Outcome::Failed(_))) => "FAILED".to_owned(),
                        Some((_, Outcome::Measured(_))) => {
                            let value = report.median(p, index).map_or("–".into(), format_figure);
                            if report.verified(p) == Some(false) {
                                format!("{value}!")
                            } else {
                                value
                            }
                        }
                    };
                    let _ = write!(out, " {cell:>18}");
                }
                out.push('\n');
            }
            for (p, outcome) in &report.outcomes {
                let note = match outcome {
                    Outcome::Skipped(reason) => Some(format!("skipped: {reason}")),
                    Outcome::Failed(error) => Some(format!("FAILED: {error}")),
                    Outcome::Measured(samples) => samples
                        .iter()
                        .find(|s| !s.verified)
                        .and_then(|s| s.note.clone())
                        .map(|note| format!("(!) wrong body: {note}")),
                };
                if let Some(note) = note {
                    notes.push(format!("{} / {}: {note}", report.scenario.id(), p.name()));
                }
            }
        }

        let ratios = self.ratios();
        if !ratios.is_empty() {
            let _ = writeln!(
                out,
                "\nCourier's ratio to each anchor (courier ÷ anchor, medians; ↑ higher is better, ↓ \
                 lower is better)"
            );
            let _ = write!(out, "{:<38}{:<20}", "scenario", "metric");
            for anchor in ANCHORS {
                let _ = write!(out, "{:>14}", format!("vs {}", anchor.name()));
            }
            let _ = writeln!(out, "   targets (issue 5)");
            for report in &self.scenarios {
                for (index, metric) in report.scenario.metrics().iter().enumerate() {
                    let row: Vec<&Ratio> = ratios
                        .iter()
                        .filter(|r| r.scenario == report.scenario && r.metric == metric.key)
                        .collect();
                    if row.is_empty() {
                        continue;
                    }
                    let arrow = if metric.better == Better::Higher {
                        "↑"
                    } else {
                        "↓"
                    };
                    let title = if index == 0 {
                        report.title.as_str()
                    } else {
                        ""
                    };
                    let _ = write!(
                        out,
                        "{:<38}{:<20}",
                        title,
                        format!("{} {arrow}", metric.label)
                    );
                    for anchor in ANCHORS {
                        let cell =
                            row.iter()
                                .find(|r| r.anchor == anchor)
                                .map_or("–".to_owned(), |r| {
                                    if r.comparable {
                                        format!("{:.2}×", r.value())
                                    } else {
                                        format!("({:.2}×)", r.value())
                                    }
                                });
                        let _ = write!(out, "{cell:>14}");
                    }
                    let targets: Vec<String> = row
                        .iter()
                        .filter_map(|r| {
                            let met = r.met()?;
                            Some(format!(
                                "{} vs {} {}",
                                r.target?.describe(),
                                r.anchor.name(),
                                if met { "✓" } else { "✗" }
                            ))
                        })
                        .collect();
                    let _ = writeln!(out, "   {}", targets.join(", "));
                }
            }
        }
        for (target, courier) in self.absolute_targets() {
            let verdict = match courier {
                Some(c) if target.bound.holds(c) => format!("{} ✓", format_figure(c)),
                Some(c) => format!("{} ✗", format_figure(c)),
                None => "not measured".into(),
            };
            let _ = writeln!(
                out,
                "target: courier {} {} {}: {verdict}",
                target.scenario.id(),
                target.metric,
                target.bound.describe()
            );
        }
        if !self.future_sizes.is_empty() {
            let sizes: Vec<String> = self
                .future_sizes
                .iter()
                .map(|(kind, size)| format!("{} {size}", kind.name()))
                .collect();
            let _ = writeln!(
                out,
                "request future size, bytes (moved several times per request): {}",
                sizes.join(", ")
            );
        }
        if self
            .scenarios
            .iter()
            .any(|r| r.scenario == ScenarioId::Pool)
        {
            let _ = writeln!(
                out,
                "pool: {} in flight, bursts of {} requests to one port, the ports in turn; courier and \
                 courier-transport capped at {} connections per host (pool_max_connections_per_host), \
                 reqwest and hyper-util have no per-host cap; sockets counted by the server; \
                 pool_stats peak: Courier's own pool_stats().open, sampled every 1 ms",
                s.pool_in_flight, s.pool_burst, s.pool_per_host_cap
            );
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "\nnotes:");
            for note in notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        let _ = writeln!(
            out,
            "\n`!` after a figure: the client's bodies had the wrong length (see notes); a ratio in \
             (parentheses) compares unlike work. MB = 10^6 bytes."
        );
        out
    }
}

/// Three significant figures or so, without exponents; whole numbers (counts) without decimals.
pub fn format_figure(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn figures_are_short() {
        assert_eq!(format_figure(51980.12), "51980");
        assert_eq!(format_figure(41.25), "41.2");
        assert_eq!(format_figure(0.987), "0.99");
        assert_eq!(format_figure(4.0), "4");
        assert_eq!(format_figure(4.5), "4.50");
    }

    #[test]
    fn bounds() {
        assert!(Bound::AtLeast(1.1).holds(1.1));
        assert!(!Bound::Below(1.0).holds(1.0));
        assert!(Bound::AtMost(1.0).holds(1.0));
    }
}
