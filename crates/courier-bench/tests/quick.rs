//! Runs the harness end to end with `--quick --smoke --json` (one round of tiny counts) and checks the
//! report's shape and correctness: every scenario has every client, with positive figures and bodies of
//! the right length, and Courier's clients never open more connections to one host than their cap (as
//! the server counts them). No timing is asserted: CI machines are shared and the build is unoptimised.

use std::process::Command;

use serde_json::Value;

const CLIENTS: [&str; 4] = ["courier", "courier-transport", "reqwest", "hyper-util"];

/// The clients of the cache scenarios: Courier without a cache, then with each cache.
const CACHE_CLIENTS: [&str; 3] = ["courier", "courier-mem-cache", "courier-disk-cache"];

/// The clients built with a per-host connection cap in the pool scenario.
const CAPPED: [&str; 2] = ["courier", "courier-transport"];

const SCENARIOS: [(&str, &[&str]); 16] = [
    ("latency", &["p50_us", "p99_us", "cpu_us"]),
    ("concurrent", &["rps", "cpu_us"]),
    ("body-64k", &["mb_s", "cpu_us"]),
    ("body-1m", &["mb_s", "cpu_us"]),
    ("gzip-1m", &["mb_s", "cpu_us"]),
    ("deflate-1m", &["mb_s", "cpu_us"]),
    ("br-1m", &["mb_s", "cpu_us"]),
    ("zstd-1m", &["mb_s", "cpu_us"]),
    ("bulk", &["wall_s", "peak_rss_mib", "cpu_s", "server_cpu_s"]),
    ("allocs", &["allocs", "alloc_bytes"]),
    (
        "pool",
        &[
            "rps",
            "peak_sockets",
            "peak_per_host",
            "connections",
            "pool_open_peak",
            "cpu_us",
        ],
    ),
    ("cache-1k", &["rps", "cpu_us"]),
    ("cache-1m", &["mb_s", "cpu_us"]),
    ("h2c", &["rps", "cpu_us"]),
    ("h2c-16", &["rps", "cpu_us"]),
    ("h2c-16-slow", &["rps", "cpu_us"]),
];

/// Whether `client` reports `metric`: only Courier's clients have pool statistics.
fn reports(client: &str, metric: &str) -> bool {
    metric != "pool_open_peak" || CAPPED.contains(&client)
}

fn run_smoke() -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_courier-bench"))
        .args(["--quick", "--smoke", "--json"])
        .output()
        .expect("run courier-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "courier-bench failed ({}):\nstderr:\n{stderr}\nstdout:\n{stdout}",
        output.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn smoke_run_reports_every_scenario_and_client_with_correct_bodies() {
    let report = run_smoke();
    assert_eq!(report["harness"], "courier-bench");
    assert_eq!(report["mode"], "smoke");
    assert_eq!(report["settings"]["rounds"], 1);
    assert!(report["machine"]["cores"].as_u64().unwrap() >= 1);

    let scenarios = report["scenarios"].as_array().expect("scenarios array");
    let ids: Vec<&str> = scenarios
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, SCENARIOS.map(|(id, _)| id));

    for (scenario, (id, metrics)) in scenarios.iter().zip(SCENARIOS) {
        let keys: Vec<&str> = scenario["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, metrics, "{id}: metrics");
        let clients: &[&str] = if id.starts_with("cache-") {
            &CACHE_CLIENTS
        } else {
            &CLIENTS
        };
        for result in scenario["results"].as_object().unwrap().keys() {
            assert!(
                clients.contains(&result.as_str())
                    || ["wrk", "curl", "reqwest-shipped"].contains(&result.as_str()),
                "{id}: unexpected participant {result}"
            );
        }
        for &client in clients {
            let result = &scenario["results"][client];
            assert_eq!(result["status"], "ok", "{id} / {client}: {result}");
            assert_eq!(result["verified"], true, "{id} / {client}: {result}");
            for metric in metrics {
                let median = &result["median"][metric];
                if reports(client, metric) {
                    // The server's CPU is read in clock ticks: a smoke round may cost it none.
                    let least = if *metric == "server_cpu_s" {
                        0.0
                    } else {
                        f64::MIN_POSITIVE
                    };
                    assert!(
                        median.as_f64().is_some_and(|v| v >= least && v.is_finite()),
                        "{id} / {client} / {metric}: {median}"
                    );
                } else {
                    assert!(median.is_null(), "{id} / {client} / {metric}: {median}");
                }
            }
            let rounds = result["rounds"].as_array().unwrap();
            assert_eq!(rounds.len(), 1, "{id} / {client}");
            let round = &rounds[0];
            assert!(round["requests"].as_u64().unwrap() > 0, "{id} / {client}");
            // Every body arrived whole, and decoded for the gzip scenario: exactly the bytes expected.
            let expected = round["bytes_expected"].as_u64().expect("bytes_expected");
            assert!(expected > 0, "{id} / {client}");
            assert_eq!(
                round["bytes_received"].as_u64(),
                Some(expected),
                "{id} / {client}"
            );
        }
        // External tools are measured or reported as skipped, never silently missing.
        let external = match id {
            "latency" | "concurrent" => Some("wrk"),
            "bulk" => Some("curl"),
            "gzip-1m" | "deflate-1m" | "br-1m" | "zstd-1m" => Some("reqwest-shipped"),
            _ => None,
        };
        if let Some(tool) = external {
            let status = scenario["results"][tool]["status"].as_str();
            assert!(
                matches!(status, Some("ok" | "skipped")),
                "{id} / {tool}: {}",
                scenario["results"][tool]
            );
        }
    }

    // The decoded length of the gzip body is checked against the 1 MiB it decodes to, so a client that
    // handed back the compressed bytes would fail above; the compressed size is smaller.
    let wire = report["settings"]["gzip_1m_wire_bytes"].as_u64().unwrap();
    assert!(wire > 0 && wire < 1 << 20, "{wire}");
    let gzip = &scenarios[4]["results"]["courier"]["rounds"][0];
    assert_eq!(
        gzip["bytes_received"].as_u64().unwrap() / gzip["requests"].as_u64().unwrap(),
        1 << 20
    );

    check_pool(&report, &scenarios[10]);

    for client in CLIENTS {
        let size = report["request_future_bytes"][client].as_u64();
        assert!(size.is_some_and(|s| s > 0), "{client}: {size:?}");
    }

    // Ratios compare Courier with each measured anchor.
    let ratios = report["ratios"].as_array().unwrap();
    assert!(ratios
        .iter()
        .any(|r| r["scenario"] == "concurrent" && r["anchor"] == "reqwest"));
    assert!(ratios.iter().all(|r| r["ratio"]
        .as_f64()
        .is_some_and(|v| v > 0.0 && v.is_finite())));
}

/// The pool scenario: every request made, Courier's clients within their per-host cap as the server
/// counted (and as their own `pool_stats()` said), and the scenario one where the cap matters.
fn check_pool(report: &Value, pool: &Value) {
    let settings = &report["settings"];
    assert_eq!(settings["pool_requests"], 100);
    assert_eq!(settings["pool_ports"], 10);
    let cap = settings["pool_per_host_cap"].as_f64().unwrap();
    assert_eq!(cap, 4.0);
    let ports = settings["pool_ports"].as_f64().unwrap();
    let round = |client: &str| pool["results"][client]["rounds"][0].clone();

    for client in CLIENTS {
        assert_eq!(round(client)["requests"], 100, "{client}");
        // Every socket the server counted at its peak was opened in this round.
        let r = round(client);
        let (peak, per_host, opened) = (
            r["peak_sockets"].as_f64().unwrap(),
            r["peak_per_host"].as_f64().unwrap(),
            r["connections"].as_f64().unwrap(),
        );
        assert!(per_host <= peak && peak <= opened, "{client}: {r}");
        assert!(
            opened <= 100.0,
            "{client}: more connections than requests: {r}"
        );
    }
    for client in CAPPED {
        let r = round(client);
        let per_host = r["peak_per_host"].as_f64().unwrap();
        assert!(per_host >= 1.0 && per_host <= cap, "{client}: {r}");
        assert!(
            r["peak_sockets"].as_f64().unwrap() <= cap * ports,
            "{client}: {r}"
        );
        let pool_open = r["pool_open_peak"].as_f64().unwrap();
        assert!(
            pool_open >= 1.0 && pool_open <= cap * ports,
            "{client}: {r}"
        );
    }
    // Bursts of 10 requests to one port, all in flight at once: a client without a cap opens more than
    // `cap` connections to some port. If none did, the scenario would not be testing the cap.
    let uncapped_max = CLIENTS
        .iter()
        .filter(|c| !CAPPED.contains(c))
        .map(|c| round(c)["peak_per_host"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        uncapped_max > cap,
        "no uncapped client exceeded {cap} per host"
    );
}

/// `courier-bench decoders` decodes each coding's body in full (it checks the decoded length itself)
/// and prints one line per coding with positive figures.
#[test]
fn decoders_ceiling_decodes_every_coding() {
    let output = Command::new(env!("CARGO_BIN_EXE_courier-bench"))
        .args(["decoders", "--iterations", "1", "--rounds", "1"])
        .output()
        .expect("run courier-bench decoders");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "courier-bench decoders failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let line = stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(coding))
            .unwrap_or_else(|| panic!("no line for {coding}:\n{stdout}"));
        let figures: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().expect("a number"))
            .collect();
        assert_eq!(figures.len(), 2, "{line}");
        assert!(figures.iter().all(|f| *f > 0.0), "{line}");
    }
}
