//! `courier-bench`: Courier against reqwest, hyper-util, wrk and curl on one local server, in one run.
//!
//! ```text
//! cargo run --release -p courier-bench             # the full run (a few minutes)
//! cargo run --release -p courier-bench -- --quick  # under two minutes on 2 cores
//! cargo run --release -p courier-bench -- --json   # machine-readable
//! ```
//!
//! The server (hyper, HTTP/1.1) runs on its own thread with its own runtime; the clients share one
//! `current_thread` runtime on the main thread. On the 2-core machines this project runs on, that gives
//! the server one core and the client one core, the same budget as `wrk -t1` and `curl`. Clients are
//! interleaved and every scenario repeated; the table shows medians and Courier's ratios to each anchor.
//! See BENCHMARKS.md.

mod alloc;
mod clients;
mod cpu;
mod decoders;
mod external;
mod report;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::clients::{Client, ClientKind};
use crate::external::BulkChildArgs;
use crate::report::{Outcome, Report, ScenarioReport};
use crate::scenarios::{External, Participant, ScenarioId, Settings};
use crate::server::{Corpus, Server};

#[global_allocator]
static ALLOCATOR: alloc::CountingAllocator = alloc::CountingAllocator;

/// Side-by-side HTTP client benchmark: Courier vs reqwest, hyper-util, wrk and curl.
#[derive(Debug, Parser)]
#[command(name = "courier-bench", version)]
struct Cli {
    /// Fewer rounds and requests; finishes in under two minutes on 2 cores.
    #[arg(long)]
    quick: bool,
    /// One round of tiny counts through every code path: a correctness check for CI, not a benchmark.
    #[arg(long)]
    smoke: bool,
    /// Print the report as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file (whatever the output format).
    #[arg(long, value_name = "PATH")]
    save_json: Option<PathBuf>,
    /// Number of files in the bulk scenario (default: 1000 full, 300 quick).
    #[arg(long)]
    bulk_files: Option<usize>,
    /// Total MiB of the bulk files (default: 1024 full, 300 quick); with --bulk-files, sets the file size.
    #[arg(long)]
    bulk_mib: Option<u64>,
    /// Rounds per scenario (default: 5 full, 3 quick, 1 smoke).
    #[arg(long)]
    rounds: Option<usize>,
    /// Requests per round in every in-process scenario, overriding the mode's counts (for profiling;
    /// 9c, whose server waits 1 ms per request, runs a tenth of them).
    #[arg(long)]
    requests: Option<usize>,
    /// Pool scenario: how many ports (hosts) the requests are spread over (default: 200 full, 100 quick).
    #[arg(long)]
    pool_ports: Option<usize>,
    /// Pool scenario: consecutive requests to one port before the next (default 10; 1 = round robin).
    #[arg(long)]
    pool_burst: Option<usize>,
    /// Pool scenario: Courier's `pool_max_connections_per_host` (default 4).
    #[arg(long)]
    pool_cap: Option<usize>,
    /// Only these scenarios (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<ScenarioId>,
    /// Only these in-process clients (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    clients: Vec<ClientKind>,
    /// Skip wrk and curl even when installed.
    #[arg(long)]
    no_external: bool,
    /// Server runtime threads (1: a current_thread runtime on one dedicated thread).
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// TCP congestion control of the server's sockets, the sending side of every download: `cubic`
    /// (Linux's own default), another algorithm the kernel offers, or `system` for the machine's
    /// setting. Fixed by default so runs compare across machines: a pacing algorithm such as BBR on
    /// loopback rates each connection by how fast its client happened to read it.
    #[arg(long, default_value = "cubic")]
    server_congestion: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Internal: one client's bulk download, run in a child process so its peak RSS is its own.
    #[command(hide = true)]
    BulkChild(BulkChildArgs),
    /// Each coding's decoder alone on the decoding scenarios' body, no HTTP: their ceiling here.
    Decoders {
        /// Bodies decoded per round.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Rounds; the best is shown.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::BulkChild(args)) => {
            return match external::bulk_child(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("courier-bench bulk-child: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Decoders { iterations, rounds }) => {
            return match decoders::run(*iterations, *rounds) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("courier-bench decoders: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
    let mut settings = if cli.smoke {
        Settings::smoke()
    } else if cli.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(rounds) = cli.rounds {
        settings.rounds = rounds.max(1);
    }
    settings.server_threads = cli.server_threads.max(1);
    settings.server_congestion =
        (cli.server_congestion != "system").then(|| cli.server_congestion.clone());
    if let Some(n) = cli.requests {
        settings = settings.with_requests(n);
    }
    if let Some(files) = cli.bulk_files {
        settings.bulk_files = files.max(1);
    }
    if let Some(mib) = cli.bulk_mib {
        settings.bulk_total = mib.max(1) << 20;
    }
    if let Some(ports) = cli.pool_ports {
        settings.pool_ports = ports.max(1);
    }
    if let Some(burst) = cli.pool_burst {
        settings.pool_burst = burst.max(1);
    }
    if let Some(cap) = cli.pool_cap {
        settings.pool_per_host_cap = cap.max(1);
    }
    let result = run(&cli, settings);
    // The disk cache client's entries are of no use after the run.
    let _ = std::fs::remove_dir_all(clients::disk_cache_dir());
    match result {
        Ok(report) => {
            if let Some(path) = &cli.save_json {
                let json = serde_json::to_string_pretty(&report.to_json()).expect("JSON");
                if let Err(err) = std::fs::write(path, json + "\n") {
                    eprintln!("courier-bench: writing {}: {err}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report.to_json()).expect("JSON")
                );
            } else {
                print!("{}", report.to_table());
            }
            if report.has_failures() {
                eprintln!(
                    "courier-bench: some clients failed or returned wrong bodies (see notes)"
                );
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("courier-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli, settings: Settings) -> Result<Report, clients::BoxError> {
    if cfg!(debug_assertions) && !cli.smoke {
        eprintln!("courier-bench: this is a debug build; use --release for meaningful figures");
    }
    let scenarios: Vec<ScenarioId> = ScenarioId::ALL
        .into_iter()
        .filter(|s| cli.scenarios.is_empty() || cli.scenarios.contains(s))
        .collect();
    let kinds: Vec<ClientKind> = ClientKind::ALL
        .into_iter()
        .filter(|k| cli.clients.is_empty() || cli.clients.contains(k))
        .collect();
    let tool = |external: External| -> Result<PathBuf, String> {
        if cli.no_external {
            return Err("--no-external".into());
        }
        if external == External::ReqwestShipped {
            return external::reqwest_shipped_binary();
        }
        external::find_on_path(external.name())
            .ok_or_else(|| format!("{} not found on PATH", external.name()))
    };

    let machine = machine();
    eprintln!(
        "courier-bench: {} mode on {}",
        settings.mode, machine["summary"]
    );
    let corpus = Corpus::new(settings.bulk_files, settings.bulk_total);
    let gzip_wire_bytes = corpus.gzip_wire_len();
    let pool_ports = if scenarios.contains(&ScenarioId::Pool) {
        settings.pool_ports
    } else {
        0
    };
    let server = Server::start(
        corpus,
        settings.server_threads,
        pool_ports,
        settings.server_congestion.clone(),
    )?;
    let base = server.base_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let future_sizes = runtime.block_on(async {
        let mut sizes = Vec::new();
        for &kind in &kinds {
            let mut client = Client::new(kind)?;
            sizes.push((kind, client.request_future_size(&format!("{base}/small"))?));
        }
        Ok::<_, clients::BoxError>(sizes)
    })?;

    let mut reports = Vec::new();
    for scenario in scenarios {
        let kinds = scenario.clients(&cli.clients);
        let mut participants: Vec<Participant> =
            kinds.iter().map(|&k| Participant::Client(k)).collect();
        let mut outcomes: Vec<(Participant, Outcome)> = Vec::new();
        if let Some(external) = scenario.external() {
            match tool(external) {
                Ok(_) => participants.push(Participant::External(external)),
                Err(reason) => {
                    outcomes.push((Participant::External(external), Outcome::Skipped(reason)))
                }
            }
        }
        // In-process clients live for the whole scenario: built and warmed up once, then measured
        // round after round (except where every round starts from a fresh client).
        let mut instances: Vec<(ClientKind, Client)> = Vec::new();
        let base = match scenario.h2c() {
            Some(port) => server.h2c_url(port),
            None => base.clone(),
        };
        if !scenario.fresh_clients() {
            for &kind in &kinds {
                let warmed = runtime.block_on(async {
                    let mut client = Client::for_scenario(kind, scenario)?;
                    scenarios::warm_up(scenario, &mut client, &base, &settings).await?;
                    Ok::<_, clients::BoxError>(client)
                });
                match warmed {
                    Ok(client) => instances.push((kind, client)),
                    Err(err) => {
                        participants.retain(|p| *p != Participant::Client(kind));
                        outcomes.push((
                            Participant::Client(kind),
                            Outcome::Failed(format!("warm-up: {err}")),
                        ));
                    }
                }
            }
        } else if scenario == ScenarioId::Pool {
            // One unmeasured round per client, so whoever goes first in round 1 does not also pay for
            // the process's first thousand sockets (the server's allocator, page faults).
            for &kind in &kinds {
                let ports = server.pool_urls();
                let warmed = runtime.block_on(scenarios::pool_round(
                    kind,
                    &ports,
                    server.pool_counters(),
                    &settings,
                ));
                if let Err(err) = warmed {
                    participants.retain(|p| *p != Participant::Client(kind));
                    outcomes.push((
                        Participant::Client(kind),
                        Outcome::Failed(format!("warm-up: {err}")),
                    ));
                }
            }
        }
        let mut samples: Vec<(Participant, Vec<scenarios::Sample>)> =
            participants.iter().map(|&p| (p, Vec::new())).collect();
        let mut failed: Vec<(Participant, String)> = Vec::new();
        for round in 0..settings.rounds {
            eprintln!(
                "  {:<11} round {}/{}",
                scenario.id(),
                round + 1,
                settings.rounds
            );
            // In-process clients take turns slice by slice, the order rotating every slice so no client
            // always goes first (or right after another). External tools, bulk children and fresh
            // clients run once a round, in the first slice.
            let slices = if scenario.fresh_clients() {
                1
            } else {
                settings.slices.max(1)
            };
            let per_slice = scenarios::requests_per_round(scenario, &settings).div_ceil(slices);
            let mut raws: Vec<(ClientKind, scenarios::Raw)> = Vec::new();
            let n = participants.len();
            for slice in 0..slices {
                let turn = round * slices + slice;
                for i in 0..n {
                    let participant = participants[(i + turn) % n];
                    if failed.iter().any(|(p, _)| *p == participant) {
                        continue;
                    }
                    let result = match participant {
                        Participant::Client(kind) if !scenario.fresh_clients() => {
                            measure_client_slice(
                                scenario,
                                kind,
                                &mut instances,
                                &runtime,
                                &base,
                                &settings,
                                per_slice,
                            )
                            .map(|raw| {
                                match raws.iter_mut().find(|(k, _)| *k == kind) {
                                    Some((_, round_raw)) => round_raw.add(raw),
                                    None => raws.push((kind, raw)),
                                }
                            })
                        }
                        _ if slice > 0 => continue,
                        _ => {
                            measure_one(scenario, participant, &runtime, &server, &settings, &tool)
                                .map(|sample| {
                                    let slot = samples.iter_mut().find(|(p, _)| *p == participant);
                                    slot.expect("every participant has a slot").1.push(sample);
                                })
                        }
                    };
                    if let Err(err) = result {
                        failed.push((participant, err.to_string()));
                    }
                }
            }
            for (kind, raw) in raws {
                let participant = Participant::Client(kind);
                if failed.iter().any(|(p, _)| *p == participant) {
                    continue;
                }
                let slot = samples.iter_mut().find(|(p, _)| *p == participant);
                slot.expect("every participant has a slot")
                    .1
                    .push(raw.finish(scenario));
            }
        }
        drop(instances);
        for (participant, rounds) in samples {
            let outcome = match failed.iter().find(|(p, _)| *p == participant) {
                Some((_, err)) => Outcome::Failed(err.clone()),
                None => Outcome::Measured(rounds),
            };
            outcomes.push((participant, outcome));
        }
        outcomes.sort_by_key(|(p, _)| Participant::ALL.iter().position(|q| q == p));
        reports.push(ScenarioReport {
            scenario,
            title: scenario.title(&settings),
            outcomes,
        });
    }
    Ok(Report {
        settings,
        machine,
        gzip_wire_bytes,
        future_sizes,
        scenarios: reports,
    })
}

/// One slice of one in-process client's round.
fn measure_client_slice(
    scenario: ScenarioId,
    kind: ClientKind,
    instances: &mut [(ClientKind, Client)],
    runtime: &tokio::runtime::Runtime,
    base: &str,
    settings: &Settings,
    requests: usize,
) -> Result<scenarios::Raw, clients::BoxError> {
    let (_, client) = instances
        .iter_mut()
        .find(|(k, _)| *k == kind)
        .ok_or("client was not built")?;
    runtime.block_on(async {
        tokio::time::timeout(
            settings.round_timeout,
            scenarios::measure_slice(scenario, client, base, settings, requests),
        )
        .await
        .map_err(|_| format!("timed out after {:?}", settings.round_timeout))?
    })
}

/// Runs a bulk round and adds the CPU time the server's threads spent on it: at equal client CPU, a
/// client whose reads leave more queued in the sockets costs the server more, and on two cores (the
/// server on one thread, by default) that shows in the wall time.
fn with_server_cpu(
    round: impl FnOnce() -> Result<scenarios::Sample, clients::BoxError>,
) -> Result<scenarios::Sample, clients::BoxError> {
    let before = cpu::named_threads_cpu_time(server::THREAD_NAME);
    let mut sample = round()?;
    let after = cpu::named_threads_cpu_time(server::THREAD_NAME);
    let spent = after
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before));
    sample
        .values
        .push(spent.map_or(f64::NAN, |cpu| cpu.as_secs_f64()));
    Ok(sample)
}

/// One round of a bulk child, a fresh pool client or an external tool.
fn measure_one(
    scenario: ScenarioId,
    participant: Participant,
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    settings: &Settings,
    tool: &dyn Fn(External) -> Result<PathBuf, String>,
) -> Result<scenarios::Sample, clients::BoxError> {
    let base = &server.base_url();
    match (scenario, participant) {
        (ScenarioId::Pool, Participant::Client(kind)) => {
            let ports = server.pool_urls();
            runtime.block_on(async {
                tokio::time::timeout(
                    settings.round_timeout,
                    scenarios::pool_round(kind, &ports, server.pool_counters(), settings),
                )
                .await
                .map_err(|_| format!("timed out after {:?}", settings.round_timeout))?
            })
        }
        (ScenarioId::Bulk, Participant::Client(kind)) => {
            with_server_cpu(|| external::bulk_client(kind, base, settings))
        }
        (_, Participant::External(External::ReqwestShipped)) if scenario.coding().is_some() => {
            let path = scenario.body_path().unwrap_or_default();
            external::reqwest_shipped(
                &tool(External::ReqwestShipped)?,
                &format!("{base}{path}"),
                scenarios::requests_per_round(scenario, settings),
            )
        }
        (ScenarioId::Bulk, Participant::External(External::Curl)) => {
            let curl = tool(External::Curl)?;
            with_server_cpu(|| external::bulk_curl(&curl, base, settings))
        }
        (ScenarioId::Latency | ScenarioId::Concurrent, Participant::External(External::Wrk)) => {
            let wrk = tool(External::Wrk)?;
            let url = format!("{base}/small");
            let (connections, latency) = match scenario {
                ScenarioId::Latency => (1, true),
                _ => (settings.in_flight, false),
            };
            let result = external::wrk(&wrk, &url, connections, settings.wrk_secs)?;
            let values = if latency {
                vec![result.p50_us, result.p99_us]
            } else {
                vec![result.rps]
            };
            Ok(scenarios::Sample {
                values,
                requests: result.requests,
                bytes_received: None,
                bytes_expected: None,
                verified: result.errors.is_none(),
                note: result.errors,
            })
        }
        _ => Err(format!("{} has no part in {}", participant.name(), scenario.id()).into()),
    }
}

/// What the figures were measured on.
fn machine() -> serde_json::Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
    let congestion = read("/proc/sys/net/ipv4/tcp_congestion_control")
        .trim()
        .to_owned();
    let load = read("/proc/loadavg")
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned();
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory_gib": (memory_gib * 10.0).round() / 10.0,
        "kernel": kernel,
        "load_average_1m_at_start": load,
        "tcp_congestion_control": congestion,
        "summary": format!(
            "{cpu}, {cores} cores, {memory_gib:.0} GiB, Linux {kernel}, load {load} at start"
        ),
    })
}
