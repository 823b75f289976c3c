//! The scenarios, their settings per mode, and how one in-process client is measured in each.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alloc;
use crate::clients::{BoxError, Client, ClientKind};
use crate::cpu;
use crate::server::{H2cPort, PoolCounters, LARGE_LEN, MEDIUM_LEN, SMALL_BODY};

/// A scenario of issue 5, numbered as there (3a is an extra: 64 KiB bodies), and issue 7's pool
/// scenario (7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ScenarioId {
    /// (1) sequential small GETs on one kept-alive connection: p50 / p99 latency.
    Latency,
    /// (2) small GETs, 64 in flight: requests per second.
    Concurrent,
    /// (3a) sequential 64 KiB bodies: MB/s.
    #[value(name = "body-64k")]
    Body64k,
    /// (3) sequential 1 MiB bodies: MB/s.
    #[value(name = "body-1m")]
    Body1m,
    /// (4) sequential gzip-encoded 1 MiB bodies, decoded: MB/s of decoded bytes.
    #[value(name = "gzip-1m")]
    Gzip1m,
    /// (4b) the same body zlib-wrapped `deflate`, decoded.
    #[value(name = "deflate-1m")]
    Deflate1m,
    /// (4c) the same body Brotli-encoded (`br`), decoded.
    #[value(name = "br-1m")]
    Br1m,
    /// (4d) the same body zstd-encoded, decoded.
    #[value(name = "zstd-1m")]
    Zstd1m,
    /// (5) bulk download with 32 in flight, each client in its own process: wall time and peak RSS.
    Bulk,
    /// (6) allocations and bytes allocated per small request.
    Allocs,
    /// (7) small GETs over many ports (hosts) with a per-host connection cap, each client fresh:
    /// requests per second and the sockets it opened, counted by the server.
    Pool,
    /// (8) sequential fresh cache hits of a 1 KiB body (memory and disk caches) against the same
    /// cacheable GETs without a cache: requests per second and client CPU per request.
    #[value(name = "cache-1k")]
    Cache1k,
    /// (8b) the same with a 1 MiB body: MB/s and client CPU per request.
    #[value(name = "cache-1m")]
    Cache1m,
    /// (9) small GETs, 64 in flight, over HTTP/2 with prior knowledge (h2c) to a server that allows
    /// hyper's default of 200 concurrent streams: requests per second.
    H2c,
    /// (9b) the same against a server that allows 16 concurrent streams per connection: a client that
    /// opens another connection when the limit is reached gets more requests through.
    #[value(name = "h2c-16")]
    H2c16,
    /// (9c) the same 16-stream server answering each request after 1 to 2 ms (tokio's timer tick), as
    /// a server waiting on its database does: requests per second grow with how many are in flight.
    /// A tenth of scenario 2's requests per round.
    #[value(name = "h2c-16-slow")]
    H2c16Slow,
}

impl ScenarioId {
    /// Every scenario, in table and run order.
    pub const ALL: [ScenarioId; 16] = [
        ScenarioId::Latency,
        ScenarioId::Concurrent,
        ScenarioId::Body64k,
        ScenarioId::Body1m,
        ScenarioId::Gzip1m,
        ScenarioId::Deflate1m,
        ScenarioId::Br1m,
        ScenarioId::Zstd1m,
        ScenarioId::Bulk,
        ScenarioId::Allocs,
        ScenarioId::Pool,
        ScenarioId::Cache1k,
        ScenarioId::Cache1m,
        ScenarioId::H2c,
        ScenarioId::H2c16,
        ScenarioId::H2c16Slow,
    ];

    /// The id used in the JSON and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            ScenarioId::Latency => "latency",
            ScenarioId::Concurrent => "concurrent",
            ScenarioId::Body64k => "body-64k",
            ScenarioId::Body1m => "body-1m",
            ScenarioId::Gzip1m => "gzip-1m",
            ScenarioId::Deflate1m => "deflate-1m",
            ScenarioId::Br1m => "br-1m",
            ScenarioId::Zstd1m => "zstd-1m",
            ScenarioId::Bulk => "bulk",
            ScenarioId::Allocs => "allocs",
            ScenarioId::Pool => "pool",
            ScenarioId::Cache1k => "cache-1k",
            ScenarioId::Cache1m => "cache-1m",
            ScenarioId::H2c => "h2c",
            ScenarioId::H2c16 => "h2c-16",
            ScenarioId::H2c16Slow => "h2c-16-slow",
        }
    }

    /// A short title for the table, with this run's sizes.
    pub fn title(self, s: &Settings) -> String {
        match self {
            ScenarioId::Latency => "1  sequential small GET".into(),
            ScenarioId::Concurrent => format!("2  small GET, {} in flight", s.in_flight),
            ScenarioId::Body64k => "3a 64 KiB bodies".into(),
            ScenarioId::Body1m => "3  1 MiB bodies".into(),
            ScenarioId::Gzip1m => "4  1 MiB gzip, decoded".into(),
            ScenarioId::Deflate1m => "4b 1 MiB deflate, decoded".into(),
            ScenarioId::Br1m => "4c 1 MiB br, decoded".into(),
            ScenarioId::Zstd1m => "4d 1 MiB zstd, decoded".into(),
            ScenarioId::Bulk => format!(
                "5  bulk {}×{}, {} in flight",
                s.bulk_files,
                human_size(s.bulk_total / s.bulk_files.max(1) as u64),
                s.bulk_in_flight
            ),
            ScenarioId::Allocs => "6  per small request".into(),
            ScenarioId::Pool => format!(
                "7  pool {} GETs over {} ports",
                s.pool_requests, s.pool_ports
            ),
            ScenarioId::Cache1k => "8  1 KiB fresh cache hits".into(),
            ScenarioId::Cache1m => "8b 1 MiB fresh cache hits".into(),
            ScenarioId::H2c => format!("9  h2c small GET, {} in flight", s.in_flight),
            ScenarioId::H2c16 => format!("9b h2c, {} in flight, 16 streams", s.in_flight),
            ScenarioId::H2c16Slow => format!("9c h2c, {} in flight, 16 streams, 1 ms", s.in_flight),
        }
    }

    /// What is reported, per round; the table shows the median over rounds.
    pub fn metrics(self) -> &'static [Metric] {
        const CPU: Metric = Metric::new("cpu_us", "client CPU µs/req", Better::Lower);
        const LATENCY: &[Metric] = &[
            Metric::new("p50_us", "p50 µs", Better::Lower),
            Metric::new("p99_us", "p99 µs", Better::Lower),
            CPU,
        ];
        const RPS: &[Metric] = &[Metric::new("rps", "requests/s", Better::Higher), CPU];
        const MBPS: &[Metric] = &[Metric::new("mb_s", "MB/s", Better::Higher), CPU];
        const BULK: &[Metric] = &[
            Metric::new("wall_s", "wall s", Better::Lower),
            Metric::new("peak_rss_mib", "peak RSS MiB", Better::Lower),
            Metric::new("cpu_s", "CPU s", Better::Lower),
            Metric::new("server_cpu_s", "server CPU s", Better::Lower),
        ];
        const ALLOCS: &[Metric] = &[
            Metric::new("allocs", "allocations", Better::Lower),
            Metric::new("alloc_bytes", "bytes allocated", Better::Lower),
        ];
        // Sockets are counted by the server; `pool_open_peak` is what Courier's own `pool_stats()`
        // reported (clients without pool statistics have none).
        const POOL: &[Metric] = &[
            Metric::new("rps", "requests/s", Better::Higher),
            Metric::new("peak_sockets", "peak sockets", Better::Lower),
            Metric::new("peak_per_host", "peak sockets/host", Better::Lower),
            Metric::new("connections", "connections opened", Better::Lower),
            Metric::new("pool_open_peak", "pool_stats peak", Better::Lower),
            CPU,
        ];
        match self {
            ScenarioId::Latency => LATENCY,
            ScenarioId::Concurrent
            | ScenarioId::Cache1k
            | ScenarioId::H2c
            | ScenarioId::H2c16
            | ScenarioId::H2c16Slow => RPS,
            ScenarioId::Cache1m => MBPS,
            ScenarioId::Body64k
            | ScenarioId::Body1m
            | ScenarioId::Gzip1m
            | ScenarioId::Deflate1m
            | ScenarioId::Br1m
            | ScenarioId::Zstd1m => MBPS,
            ScenarioId::Bulk => BULK,
            ScenarioId::Allocs => ALLOCS,
            ScenarioId::Pool => POOL,
        }
    }

    /// Whether each round builds its clients afresh (in a child process for bulk), rather than one
    /// warmed-up client per scenario taking turns slice by slice.
    pub fn fresh_clients(self) -> bool {
        matches!(self, ScenarioId::Bulk | ScenarioId::Pool)
    }

    /// The external tool measured alongside the clients, if any.
    pub fn external(self) -> Option<External> {
        match self {
            ScenarioId::Latency | ScenarioId::Concurrent => Some(External::Wrk),
            ScenarioId::Bulk => Some(External::Curl),
            ScenarioId::Gzip1m | ScenarioId::Deflate1m | ScenarioId::Br1m | ScenarioId::Zstd1m => {
                Some(External::ReqwestShipped)
            }
            _ => None,
        }
    }

    /// For the HTTP/2 scenarios, the server's h2c port; the clients speak h2c with prior knowledge.
    pub fn h2c(self) -> Option<H2cPort> {
        match self {
            ScenarioId::H2c => Some(H2cPort::Default),
            ScenarioId::H2c16 => Some(H2cPort::Streams16),
            ScenarioId::H2c16Slow => Some(H2cPort::Streams16Slow),
            _ => None,
        }
    }

    /// Whether the scenario measures the HTTP cache (its clients are [`ClientKind::CACHE`]).
    pub fn is_cache(self) -> bool {
        matches!(self, ScenarioId::Cache1k | ScenarioId::Cache1m)
    }

    /// The clients measured in this scenario, of those selected: the cache clients only in the cache
    /// scenarios, and only there.
    pub fn clients(self, selected: &[ClientKind]) -> Vec<ClientKind> {
        let all: &[ClientKind] = if self.is_cache() {
            &ClientKind::CACHE
        } else {
            &ClientKind::ALL
        };
        all.iter()
            .copied()
            .filter(|k| selected.is_empty() || selected.contains(k))
            .collect()
    }

    /// For the decoding scenarios, the `Content-Encoding` of the body.
    pub fn coding(self) -> Option<&'static str> {
        match self {
            ScenarioId::Gzip1m => Some("gzip"),
            ScenarioId::Deflate1m => Some("deflate"),
            ScenarioId::Br1m => Some("br"),
            ScenarioId::Zstd1m => Some("zstd"),
            _ => None,
        }
    }

    /// The server path of the scenario's body, for the body and decoding scenarios.
    pub fn body_path(self) -> Option<&'static str> {
        match self {
            ScenarioId::Body64k => Some("/64k"),
            ScenarioId::Body1m => Some("/1m"),
            ScenarioId::Gzip1m => Some("/1m.gz"),
            ScenarioId::Deflate1m => Some("/1m.deflate"),
            ScenarioId::Br1m => Some("/1m.br"),
            ScenarioId::Zstd1m => Some("/1m.zst"),
            ScenarioId::Cache1k => Some("/cache/1k"),
            ScenarioId::Cache1m => Some("/cache/1m"),
            _ => None,
        }
    }
}

/// A reported figure.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    pub better: Better,
}

impl Metric {
    const fn new(key: &'static str, label: &'static str, better: Better) -> Metric {
        Metric { key, label, better }
    }
}

/// Which direction is better for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// An external tool used as an anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum External {
    /// `wrk -t1`: the loopback ceiling for small requests.
    Wrk,
    /// `curl --parallel`: the reference for bulk downloads.
    Curl,
    /// reqwest built on its own, as its users get it (see `reqwest-shipped/`): the reference for
    /// decoding, where the reqwest built into this binary shares Courier's flate2 backend.
    ReqwestShipped,
}

impl External {
    pub fn name(self) -> &'static str {
        match self {
            External::Wrk => "wrk",
            External::Curl => "curl",
            External::ReqwestShipped => "reqwest-shipped",
        }
    }
}

/// Anything measured in a scenario: an in-process client or an external tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Participant {
    Client(ClientKind),
    External(External),
}

impl Participant {
    /// Every participant, in table column order.
    pub const ALL: [Participant; 9] = [
        Participant::Client(ClientKind::Courier),
        Participant::Client(ClientKind::CourierMemCache),
        Participant::Client(ClientKind::CourierDiskCache),
        Participant::Client(ClientKind::Transport),
        Participant::Client(ClientKind::Reqwest),
        Participant::Client(ClientKind::HyperUtil),
        Participant::External(External::Wrk),
        Participant::External(External::Curl),
        Participant::External(External::ReqwestShipped),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Participant::Client(kind) => kind.name(),
            Participant::External(tool) => tool.name(),
        }
    }
}

/// One round's figures for one participant, in the order of [`ScenarioId::metrics`].
#[derive(Clone, Debug)]
pub struct Sample {
    pub values: Vec<f64>,
    /// Requests (or files) completed in the round.
    pub requests: u64,
    /// Body bytes the client handed to the caller (decoded, for gzip), when known.
    pub bytes_received: Option<u64>,
    /// What it should have been.
    pub bytes_expected: Option<u64>,
    /// Whether the round's responses were checked and right (lengths, statuses).
    pub verified: bool,
    /// Why a round is not verified, or anything else worth knowing.
    pub note: Option<String>,
}

impl Sample {
    /// A sample whose byte count is checked against the expected one.
    pub fn checked(values: Vec<f64>, requests: u64, received: u64, expected: u64) -> Sample {
        let verified = received == expected;
        let note = (!verified).then(|| {
            format!(
                "received {} bytes per request, expected {}",
                received / requests.max(1),
                expected / requests.max(1)
            )
        });
        Sample {
            values,
            requests,
            bytes_received: Some(received),
            bytes_expected: Some(expected),
            verified,
            note,
        }
    }
}

/// How much each scenario does; see [`Settings::full`], [`Settings::quick`], [`Settings::smoke`].
#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: &'static str,
    pub rounds: usize,
    pub latency_requests: usize,
    pub concurrent_requests: usize,
    pub in_flight: usize,
    pub medium_requests: usize,
    pub large_requests: usize,
    pub gzip_requests: usize,
    pub bulk_files: usize,
    pub bulk_total: u64,
    pub bulk_in_flight: usize,
    pub alloc_requests: usize,
    /// Pool scenario: requests per round, spread over `pool_ports` ports of the server.
    pub pool_requests: usize,
    pub pool_ports: usize,
    /// Pool scenario: consecutive requests to the same port before moving to the next one (a
    /// host-sorted URL list; `1` is plain round robin, where no host ever has more than a couple of
    /// requests in flight and no cap comes into play).
    pub pool_burst: usize,
    /// Pool scenario: `pool_max_connections_per_host` for the clients that have one (Courier's).
    pub pool_per_host_cap: usize,
    pub pool_in_flight: usize,
    pub wrk_secs: u32,
    /// Each round of an in-process scenario is cut into this many slices, the clients taking turns
    /// slice by slice, so a burst of load from elsewhere on the machine hits every client alike.
    pub slices: usize,
    pub server_threads: usize,
    /// The TCP congestion control set on the server's sockets (`None`: the machine's default).
    pub server_congestion: Option<String>,
    /// Longest a single round of one client may take before it is reported as failed.
    pub round_timeout: Duration,
}

impl Settings {
    /// The full run: the sizes of issue 5 (bulk: 1,000 files totalling 1 GiB).
    pub fn full() -> Settings {
        Settings {
            mode: "full",
            rounds: 5,
            latency_requests: 10_000,
            concurrent_requests: 50_000,
            in_flight: 64,
            medium_requests: 2_000,
            large_requests: 300,
            gzip_requests: 150,
            bulk_files: 1_000,
            bulk_total: 1 << 30,
            bulk_in_flight: 32,
            alloc_requests: 2_000,
            pool_requests: 10_000,
            pool_ports: 200,
            pool_burst: 10,
            pool_per_host_cap: 4,
            pool_in_flight: 256,
            wrk_secs: 5,
            slices: 10,
            server_threads: 1,
            server_congestion: Some("cubic".into()),
            round_timeout: Duration::from_secs(300),
        }
    }

    /// Under two minutes on 2 cores (about 45 s when the machine is otherwise idle): fewer rounds and
    /// requests; bulk is 300 files × 1 MiB.
    pub fn quick() -> Settings {
        Settings {
            mode: "quick",
            rounds: 3,
            latency_requests: 5_000,
            concurrent_requests: 25_000,
            medium_requests: 1_000,
            large_requests: 150,
            gzip_requests: 60,
            bulk_files: 300,
            bulk_total: 300 << 20,
            alloc_requests: 1_000,
            pool_requests: 5_000,
            pool_ports: 100,
            wrk_secs: 3,
            round_timeout: Duration::from_secs(120),
            ..Settings::full()
        }
    }

    /// Overrides the request count of every in-process scenario (for profiling one client).
    pub fn with_requests(mut self, n: usize) -> Settings {
        let n = n.max(1);
        self.latency_requests = n;
        self.concurrent_requests = n;
        self.medium_requests = n;
        self.large_requests = n;
        self.gzip_requests = n;
        self.alloc_requests = n;
        self.pool_requests = n;
        self
    }

    /// A correctness check for CI (debug builds): one round of tiny counts through every code path.
    pub fn smoke() -> Settings {
        Settings {
            mode: "smoke",
            rounds: 1,
            latency_requests: 50,
            concurrent_requests: 256,
            medium_requests: 10,
            large_requests: 3,
            gzip_requests: 3,
            bulk_files: 8,
            bulk_total: 8 << 16,
            bulk_in_flight: 4,
            alloc_requests: 20,
            pool_requests: 100,
            pool_ports: 10,
            wrk_secs: 1,
            slices: 1,
            round_timeout: Duration::from_secs(60),
            ..Settings::full()
        }
    }
}

/// Requests made once per client before the first round: connections opened, lazy state built.
pub async fn warm_up(
    scenario: ScenarioId,
    client: &mut Client,
    base: &str,
    s: &Settings,
) -> Result<(), BoxError> {
    match scenario {
        ScenarioId::Concurrent | ScenarioId::H2c | ScenarioId::H2c16 | ScenarioId::H2c16Slow => {
            if scenario.h2c().is_some() {
                // One request first, so the connection and the server's SETTINGS (its stream limit)
                // are there before the burst: hyper-util's legacy client opens streams past a limit
                // it has not heard yet, and the refused ones fail (REFUSED_STREAM is not replayed).
                client.fetch(&format!("{base}/small")).await?;
            }
            concurrent(
                client,
                &format!("{base}/small"),
                s.in_flight * 4,
                s.in_flight,
            )
            .await?;
        }
        ScenarioId::Body64k
        | ScenarioId::Body1m
        | ScenarioId::Gzip1m
        | ScenarioId::Deflate1m
        | ScenarioId::Br1m
        | ScenarioId::Zstd1m => {
            let path = scenario.body_path().unwrap_or_default();
            client
                .stream(&format!("{base}{path}"), scenario.coding())
                .await?;
        }
        ScenarioId::Cache1k | ScenarioId::Cache1m => {
            // Opens the connection and fills the cache (the body is read to the end, so it is stored).
            let path = scenario.body_path().unwrap_or_default();
            for _ in 0..3 {
                client.stream(&format!("{base}{path}"), None).await?;
            }
        }
        ScenarioId::Latency | ScenarioId::Allocs | ScenarioId::Bulk | ScenarioId::Pool => {
            for _ in 0..20 {
                client.fetch(&format!("{base}/small")).await?;
            }
        }
    }
    Ok(())
}

/// What one slice of a round measured for one client, before it becomes figures. Slices of a round are
/// added up, so a round's figures cover every slice.
#[derive(Debug, Default)]
pub struct Raw {
    requests: u64,
    elapsed: Duration,
    /// `None` where the thread CPU clock is missing.
    cpu: Option<Duration>,
    received: u64,
    expected: u64,
    latencies: Vec<Duration>,
    allocs: alloc::Counts,
}

impl Raw {
    /// Adds another slice of the same round.
    pub fn add(&mut self, other: Raw) {
        self.cpu = if self.requests == 0 {
            other.cpu
        } else {
            self.cpu.zip(other.cpu).map(|(a, b)| a + b)
        };
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.received += other.received;
        self.expected += other.expected;
        self.latencies.extend(other.latencies);
        self.allocs.allocations += other.allocs.allocations;
        self.allocs.bytes += other.allocs.bytes;
    }

    /// The round's figures, in the order of [`ScenarioId::metrics`].
    pub fn finish(mut self, scenario: ScenarioId) -> Sample {
        let n = self.requests.max(1) as f64;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        // Everything the client does runs on this thread (a current_thread runtime), so its CPU time is
        // the client's cost.
        let cpu_us = self.cpu.map_or(f64::NAN, |c| c.as_secs_f64() * 1e6 / n);
        let values = match scenario {
            ScenarioId::Latency => {
                self.latencies.sort_unstable();
                vec![
                    percentile(&self.latencies, 0.50).as_secs_f64() * 1e6,
                    percentile(&self.latencies, 0.99).as_secs_f64() * 1e6,
                    cpu_us,
                ]
            }
            ScenarioId::Concurrent
            | ScenarioId::Cache1k
            | ScenarioId::H2c
            | ScenarioId::H2c16
            | ScenarioId::H2c16Slow => {
                vec![n / secs, cpu_us]
            }
            ScenarioId::Cache1m => vec![self.received as f64 / secs / 1e6, cpu_us],
            ScenarioId::Body64k
            | ScenarioId::Body1m
            | ScenarioId::Gzip1m
            | ScenarioId::Deflate1m
            | ScenarioId::Br1m
            | ScenarioId::Zstd1m => {
                vec![self.received as f64 / secs / 1e6, cpu_us]
            }
            ScenarioId::Allocs => vec![
                self.allocs.allocations as f64 / n,
                self.allocs.bytes as f64 / n,
            ],
            ScenarioId::Bulk | ScenarioId::Pool => vec![],
        };
        let mut sample = Sample::checked(values, self.requests, self.received, self.expected);
        if scenario.coding().is_some() && !sample.verified {
            sample.note = sample
                .note
                .map(|note| format!("{note}: the body was not decoded"));
        }
        sample
    }
}

/// Requests per round of an in-process scenario.
pub fn requests_per_round(scenario: ScenarioId, s: &Settings) -> usize {
    match scenario {
        ScenarioId::Latency => s.latency_requests,
        ScenarioId::Concurrent | ScenarioId::H2c | ScenarioId::H2c16 => s.concurrent_requests,
        // Bounded by the server's 1 ms per request: a tenth as many keeps the rounds short.
        ScenarioId::H2c16Slow => (s.concurrent_requests / 10).max(1),
        ScenarioId::Body64k => s.medium_requests,
        ScenarioId::Body1m => s.large_requests,
        ScenarioId::Gzip1m | ScenarioId::Deflate1m | ScenarioId::Br1m | ScenarioId::Zstd1m => {
            s.gzip_requests
        }
        ScenarioId::Allocs => s.alloc_requests,
        ScenarioId::Bulk => s.bulk_files,
        ScenarioId::Pool => s.pool_requests,
        ScenarioId::Cache1k => s.medium_requests,
        ScenarioId::Cache1m => s.large_requests,
    }
}

/// `n` requests of an in-process scenario (not [`ScenarioId::Bulk`], which runs in child processes, nor
/// [`ScenarioId::Pool`], which builds its clients afresh: [`pool_round`]).
pub async fn measure_slice(
    scenario: ScenarioId,
    client: &mut Client,
    base: &str,
    s: &Settings,
    n: usize,
) -> Result<Raw, BoxError> {
    let small = SMALL_BODY.len() as u64;
    let cpu_before = cpu::thread_cpu_time();
    let start = Instant::now();
    let mut raw = Raw {
        requests: n as u64,
        ..Raw::default()
    };
    match scenario {
        ScenarioId::Latency => {
            let url = format!("{base}/small");
            raw.latencies.reserve(n);
            for _ in 0..n {
                let start = Instant::now();
                raw.received += client.fetch(&url).await? as u64;
                raw.latencies.push(start.elapsed());
            }
            raw.expected = small * n as u64;
        }
        ScenarioId::Concurrent | ScenarioId::H2c | ScenarioId::H2c16 | ScenarioId::H2c16Slow => {
            raw.received = concurrent(client, &format!("{base}/small"), n, s.in_flight).await?;
            raw.expected = small * n as u64;
        }
        ScenarioId::Body64k
        | ScenarioId::Body1m
        | ScenarioId::Gzip1m
        | ScenarioId::Deflate1m
        | ScenarioId::Br1m
        | ScenarioId::Zstd1m => {
            let path = scenario.body_path().unwrap_or_default();
            let len = match scenario {
                ScenarioId::Body64k => MEDIUM_LEN,
                _ => LARGE_LEN,
            };
            let url = format!("{base}{path}");
            for _ in 0..n {
                raw.received += client.stream(&url, scenario.coding()).await?;
            }
            raw.expected = (len * n) as u64;
        }
        ScenarioId::Allocs => {
            let url = format!("{base}/small");
            alloc::start();
            let result = async {
                let mut received = 0;
                for _ in 0..n {
                    received += client.fetch(&url).await? as u64;
                }
                Ok::<_, BoxError>(received)
            }
            .await;
            raw.allocs = alloc::stop();
            raw.received = result?;
            raw.expected = small * n as u64;
        }
        ScenarioId::Cache1k => {
            let url = format!("{base}/cache/1k");
            for _ in 0..n {
                raw.received += client.fetch(&url).await? as u64;
            }
            raw.expected = 1024 * n as u64;
        }
        ScenarioId::Cache1m => {
            let url = format!("{base}/cache/1m");
            for _ in 0..n {
                raw.received += client.stream(&url, None).await?;
            }
            raw.expected = (LARGE_LEN * n) as u64;
        }
        ScenarioId::Bulk => return Err("the bulk scenario runs in a child process".into()),
        ScenarioId::Pool => return Err("the pool scenario runs whole rounds: pool_round".into()),
    }
    raw.elapsed = start.elapsed();
    raw.cpu = cpu_before
        .zip(cpu::thread_cpu_time())
        .map(|(before, after)| after.saturating_sub(before));
    Ok(raw)
}

/// `n` small GETs from `in_flight` tasks sharing the client; returns the body bytes received.
async fn concurrent(
    client: &Client,
    url: &str,
    n: usize,
    in_flight: usize,
) -> Result<u64, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let mut client = client.clone();
            let next = next.clone();
            let url = url.to_owned();
            tokio::spawn(async move {
                let mut received = 0;
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    received += client.fetch(&url).await? as u64;
                }
                Ok::<u64, BoxError>(received)
            })
        })
        .collect();
    let mut received = 0;
    for task in tasks {
        received += task.await??;
    }
    Ok(received)
}

/// How often Courier's `pool_stats()` is sampled during a pool round.
const POOL_SAMPLE_EVERY: Duration = Duration::from_millis(1);

/// How long a dropped client's connections may take to close (as the server sees it) before the round
/// is reported as failed: they would count as the next client's.
const POOL_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// One round of the pool scenario: a fresh `kind` client (capped per host where it can be) sends
/// `pool_requests` small GETs over the server's pool ports, `pool_in_flight` at a time, in bursts of
/// `pool_burst` to one port, the ports taken in turn. The server counts the sockets; the client is then
/// dropped and its connections must close before the next client's round.
pub async fn pool_round(
    kind: ClientKind,
    ports: &[String],
    counters: &PoolCounters,
    s: &Settings,
) -> Result<Sample, BoxError> {
    let cap = s.pool_per_host_cap;
    let client = Client::with_per_host_cap(kind, cap)?;
    let urls: Vec<String> = ports.iter().map(|base| format!("{base}/small")).collect();
    if urls.is_empty() {
        return Err("the server has no pool ports".into());
    }
    drain(counters, "a previous client's").await?;
    counters.reset();

    let done = Arc::new(AtomicBool::new(false));
    let sampler = client.pool_open().is_some().then(|| {
        let client = client.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = (0, 0);
            let mut tick = tokio::time::interval(POOL_SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if let Some((open, per_host)) = client.pool_open() {
                    peak = (peak.0.max(open), peak.1.max(per_host));
                }
                if done.load(Ordering::Relaxed) {
                    return peak;
                }
                tick.tick().await;
            }
        })
    });

    let n = s.pool_requests;
    let cpu_before = cpu::thread_cpu_time();
    let start = Instant::now();
    let result = spread(&client, &urls, n, s.pool_burst.max(1), s.pool_in_flight).await;
    let elapsed = start.elapsed();
    let cpu = cpu_before
        .zip(cpu::thread_cpu_time())
        .map(|(before, after)| after.saturating_sub(before));
    done.store(true, Ordering::Relaxed);
    let client_peak = match sampler {
        Some(sampler) => Some(sampler.await?),
        None => None,
    };
    let server = counters.snapshot();
    drop(client);
    let received = result?;
    drain(counters, "the dropped client's").await?;

    let secs = elapsed.as_secs_f64().max(1e-9);
    let values = vec![
        n as f64 / secs,
        server.peak as f64,
        server.peak_per_port as f64,
        server.accepted as f64,
        client_peak.map_or(f64::NAN, |(open, _)| open as f64),
        cpu.map_or(f64::NAN, |c| c.as_secs_f64() * 1e6 / n.max(1) as f64),
    ];
    let mut sample = Sample::checked(values, n as u64, received, (SMALL_BODY.len() * n) as u64);
    // The cap is a promise, not a speed: a capped client going over it fails the round.
    if Client::has_per_host_cap(kind) {
        let client_per_host = client_peak.map_or(0, |(_, per_host)| per_host);
        if server.peak_per_port > cap || client_per_host > cap {
            sample.verified = false;
            let over = format!(
                "per-host cap {cap} exceeded: the server counted up to {} connections on one port, \
                 pool_stats() up to {client_per_host} on one host",
                server.peak_per_port
            );
            sample.note = Some(match sample.note.take() {
                Some(note) => format!("{note}; {over}"),
                None => over,
            });
        }
    }
    Ok(sample)
}

/// `n` small GETs from `in_flight` tasks sharing the client, request `i` going to
/// `urls[(i / burst) % urls.len()]`; returns the body bytes received.
async fn spread(
    client: &Client,
    urls: &[String],
    n: usize,
    burst: usize,
    in_flight: usize,
) -> Result<u64, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let urls: Arc<[String]> = urls.into();
    let tasks: Vec<_> = (0..in_flight.clamp(1, n.max(1)))
        .map(|_| {
            let mut client = client.clone();
            let next = next.clone();
            let urls = urls.clone();
            tokio::spawn(async move {
                let mut received = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<u64, BoxError>(received);
                    }
                    received += client.fetch(&urls[(i / burst) % urls.len()]).await? as u64;
                }
            })
        })
        .collect();
    let mut received = 0;
    for task in tasks {
        received += task.await??;
    }
    Ok(received)
}

/// Waits until the server sees no connection open on the pool ports.
async fn drain(counters: &PoolCounters, whose: &str) -> Result<(), BoxError> {
    let deadline = Instant::now() + POOL_DRAIN_TIMEOUT;
    while counters.open() > 0 {
        if Instant::now() >= deadline {
            return Err(format!(
                "{whose} connections did not close: {} still open after {:?}",
                counters.open(),
                POOL_DRAIN_TIMEOUT
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `1 MiB`, `64 KiB`, `1.0 MB`-style sizes for titles.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else if bytes >= 1_000_000 {
        format!("{:.2} MB", bytes as f64 / 1e6)
    } else if bytes >= 1_000 {
        format!("{:.0} kB", bytes as f64 / 1e3)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&v, 0.50), Duration::from_micros(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&v[..1], 0.99), Duration::from_micros(1));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(1 << 20), "1 MiB");
        assert_eq!(human_size(64 << 10), "64 KiB");
        assert_eq!(human_size(1_073_741), "1.07 MB");
        assert_eq!(human_size(104_857), "105 kB");
        assert_eq!(human_size(999), "999 B");
    }

    #[test]
    fn slices_add_up_to_one_round() {
        let slice = |ms: u64, lat: u64| Raw {
            requests: 10,
            elapsed: Duration::from_millis(ms),
            cpu: Some(Duration::from_millis(ms / 2)),
            received: 100,
            expected: 100,
            latencies: vec![Duration::from_micros(lat); 10],
            allocs: alloc::Counts::default(),
        };
        let mut round = Raw::default();
        round.add(slice(10, 5));
        round.add(slice(30, 20));
        let concurrent = Raw { ..round }.finish(ScenarioId::Concurrent);
        assert_eq!(concurrent.requests, 20);
        assert!(
            (concurrent.values[0] - 500.0).abs() < 1e-6,
            "{concurrent:?}"
        );
        assert!(
            (concurrent.values[1] - 1000.0).abs() < 1e-6,
            "{concurrent:?}"
        );
        assert!(concurrent.verified);

        let mut round = Raw::default();
        round.add(slice(10, 5));
        round.add(slice(30, 20));
        let latency = round.finish(ScenarioId::Latency);
        assert_eq!(latency.values[0], 5.0);
        assert_eq!(latency.values[1], 20.0);
    }

    #[test]
    fn unverified_sample_says_why() {
        let s = Sample::checked(vec![1.0], 2, 10, 20);
        assert!(!s.verified);
        assert_eq!(
            s.note.as_deref(),
            Some("received 5 bytes per request, expected 10")
        );
        assert!(Sample::checked(vec![1.0], 2, 20, 20).verified);
    }
}
