//! What runs in other processes: `wrk`, `curl --parallel`, and each client's bulk download (the harness
//! re-executing itself with the hidden `bulk-child` subcommand, so peak RSS is per client).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clients::{BoxError, Client, ClientKind};
use crate::cpu;
use crate::scenarios::{Sample, Settings};
use crate::server::bulk_sizes;

/// The first executable called `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The `reqwest-shipped` binary: `$COURIER_BENCH_REQWEST_SHIPPED`, or where cargo builds it.
pub fn reqwest_shipped_binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("COURIER_BENCH_REQWEST_SHIPPED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("reqwest-shipped/target/release/reqwest-shipped")
        });
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not built (cargo build --release --manifest-path \
             crates/courier-bench/reqwest-shipped/Cargo.toml)",
            path.display()
        ))
    }
}

/// One round of reqwest as shipped: `requests` sequential GETs of `url` in its own process, which
/// reports its wall time and CPU time (see `reqwest-shipped/src/main.rs`).
pub fn reqwest_shipped(binary: &Path, url: &str, requests: usize) -> Result<Sample, BoxError> {
    let mut command = Command::new(binary);
    command.arg(url).arg(requests.to_string());
    let finished = run_measured(command, false)?;
    let report: serde_json::Value = serde_json::from_slice(&finished.stdout)?;
    let field = |name: &str| {
        report[name]
            .as_f64()
            .ok_or_else(|| format!("reqwest-shipped: no {name} in its report"))
    };
    let (received, secs, cpu_secs) = (field("received")?, field("secs")?, field("cpu_secs")?);
    let n = requests as u64;
    let expected = crate::server::LARGE_LEN as u64 * n;
    Ok(Sample::checked(
        vec![
            received / secs.max(1e-9) / 1e6,
            cpu_secs * 1e6 / n.max(1) as f64,
        ],
        n,
        received as u64,
        expected,
    ))
}

/// What a finished child process left behind.
struct Finished {
    stdout: Vec<u8>,
    wall: Duration,
    /// The highest `VmHWM` seen in `/proc/PID/status` while it ran, KiB.
    polled_hwm_kib: Option<u64>,
    /// The last CPU time read from `/proc/PID/stat` while it ran.
    polled_cpu: Option<Duration>,
}

/// Runs `command` to completion, timing it; with `poll_rss`, samples its peak RSS every few ms.
///
/// Why poll rather than read `ru_maxrss` from `wait4`: Linux carries the parent's high-water mark into
/// a child at `exec` (the spawning process's memory counts as the child's), so `ru_maxrss` of anything
/// spawned from this harness is at least the harness's own RSS. `VmHWM` belongs to the exec'd image
/// alone; the last sample misses at most the final few milliseconds of growth.
fn run_measured(mut command: Command, poll_rss: bool) -> Result<Finished, BoxError> {
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain stderr on the side (a full pipe would stall the child); shown only if the child fails.
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut stderr = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut stderr);
        stderr
    });
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let cpu_ns = Arc::new(AtomicU64::new(0));
    let poller = poll_rss.then(|| {
        let (done, peak, cpu_ns, pid) = (done.clone(), peak.clone(), cpu_ns.clone(), child.id());
        std::thread::spawn(move || {
            let status = format!("/proc/{pid}/status");
            while !done.load(Ordering::Relaxed) {
                if let Some(hwm) = status_field_kib(&status, "VmHWM:") {
                    peak.fetch_max(hwm, Ordering::Relaxed);
                }
                if let Some(cpu) = cpu::other_process_cpu_time(pid) {
                    cpu_ns.fetch_max(cpu.as_nanos() as u64, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    });
    let mut stdout = Vec::new();
    let read = child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_end(&mut stdout);
    // Stop polling before reaping, so the pid cannot have been reused while we read its status.
    done.store(true, Ordering::Relaxed);
    if let Some(poller) = poller {
        let _ = poller.join();
    }
    let status = child.wait()?;
    let wall = start.elapsed();
    let stderr = stderr_reader.join().unwrap_or_default();
    read?;
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(format!("{command:?} failed: {status}: {}", tail.trim()).into());
    }
    let peak = peak.load(Ordering::Relaxed);
    let cpu_ns = cpu_ns.load(Ordering::Relaxed);
    Ok(Finished {
        stdout,
        wall,
        polled_hwm_kib: (peak > 0).then_some(peak),
        polled_cpu: (cpu_ns > 0).then(|| Duration::from_nanos(cpu_ns)),
    })
}

/// One `wrk -t1` run: requests/s and latency percentiles.
#[derive(Clone, Debug, PartialEq)]
pub struct WrkResult {
    pub requests: u64,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Non-2xx responses or socket errors, as wrk printed them.
    pub errors: Option<String>,
}

/// Runs `wrk -t1 -c<connections> -d<secs>s --latency url`.
pub fn wrk(wrk: &Path, url: &str, connections: usize, secs: u32) -> Result<WrkResult, BoxError> {
    let mut command = Command::new(wrk);
    command.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
        url,
    ]);
    let finished = run_measured(command, false)?;
    parse_wrk(&String::from_utf8_lossy(&finished.stdout))
}

fn parse_wrk(output: &str) -> Result<WrkResult, BoxError> {
    let mut result = WrkResult {
        requests: 0,
        rps: 0.0,
        p50_us: 0.0,
        p99_us: 0.0,
        errors: None,
    };
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.rps = rest.trim().parse()?;
        } else if let Some(rest) = line.strip_prefix("50%") {
            result.p50_us = parse_wrk_duration(rest.trim())?;
        } else if let Some(rest) = line.strip_prefix("99%") {
            result.p99_us = parse_wrk_duration(rest.trim())?;
        } else if line.contains(" requests in ") {
            result.requests = line.split_whitespace().next().unwrap_or("0").parse()?;
        } else if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
            result.errors = Some(line.to_owned());
        }
    }
    if result.rps <= 0.0 || result.requests == 0 {
        return Err(format!("could not read wrk's output:\n{output}").into());
    }
    Ok(result)
}

/// `88.12us`, `1.20ms`, `2.00s`, `1.00m` → microseconds.
fn parse_wrk_duration(text: &str) -> Result<f64, BoxError> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("no unit in wrk duration {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return Err(format!("unknown unit in wrk duration {text:?}").into()),
    };
    Ok(number * scale)
}

/// Bulk download with `curl --parallel`, to `/dev/null`; wall time and peak RSS.
pub fn bulk_curl(curl: &Path, base: &str, s: &Settings) -> Result<Sample, BoxError> {
    let sizes = bulk_sizes(s.bulk_files, s.bulk_total);
    let config_path = std::env::temp_dir().join(format!(
        "courier-bench-curl-{}-{}.cfg",
        std::process::id(),
        base.rsplit(':').next().unwrap_or("0")
    ));
    let mut config = String::new();
    for i in 0..sizes.len() {
        config.push_str(&format!(
            "url = \"{base}/bulk/{i}\"\noutput = \"/dev/null\"\n"
        ));
    }
    std::fs::File::create(&config_path)?.write_all(config.as_bytes())?;
    let mut command = Command::new(curl);
    command.args([
        "--parallel",
        "--parallel-max",
        &s.bulk_in_flight.to_string(),
        "--silent",
        "--show-error",
        "--fail",
        "--max-time",
        &s.round_timeout.as_secs().to_string(),
        "--write-out",
        "courier-bench-size=%{size_download}\\n",
        "--config",
    ]);
    command.arg(&config_path);
    let finished = run_measured(command, true);
    let _ = std::fs::remove_file(&config_path);
    let finished = finished?;
    let received = curl_sizes(&String::from_utf8_lossy(&finished.stdout));
    let rss = finished
        .polled_hwm_kib
        .ok_or("could not read curl's VmHWM")?;
    let cpu = finished.polled_cpu.map_or(f64::NAN, |c| c.as_secs_f64());
    let mut sample = bulk_sample(finished.wall, rss, cpu, sizes.len(), received, s.bulk_total);
    sample.note = Some("peak RSS and CPU time sampled from /proc every 5 ms".into());
    Ok(sample)
}

/// Bulk download by one client, in a child process running the hidden `bulk-child` subcommand.
pub fn bulk_client(kind: ClientKind, base: &str, s: &Settings) -> Result<Sample, BoxError> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args([
        "bulk-child",
        "--client",
        kind.name(),
        "--base",
        base,
        "--files",
        &s.bulk_files.to_string(),
        "--total-bytes",
        &s.bulk_total.to_string(),
        "--in-flight",
        &s.bulk_in_flight.to_string(),
        "--timeout-secs",
        &s.round_timeout.as_secs().to_string(),
    ]);
    let finished = run_measured(command, false)?;
    let report: serde_json::Value = serde_json::from_slice(&finished.stdout)?;
    let received = report["bytes"]
        .as_u64()
        .ok_or("bulk-child reported no byte count")?;
    // The child's own VmHWM, read by itself at the end: exact, and its memory alone.
    let rss = report["vm_hwm_kib"]
        .as_u64()
        .ok_or("bulk-child reported no VmHWM")?;
    let cpu = report["cpu_s"].as_f64().unwrap_or(f64::NAN);
    let mut sample = bulk_sample(
        finished.wall,
        rss,
        cpu,
        s.bulk_files,
        received,
        s.bulk_total,
    );
    if let Some(rss) = report["rss_before_kib"].as_u64() {
        let note = format!("RSS before downloading: {:.1} MiB", rss as f64 / 1024.0);
        sample.note = Some(match sample.note {
            Some(existing) => format!("{existing}; {note}"),
            None => note,
        });
    }
    Ok(sample)
}

fn bulk_sample(
    wall: Duration,
    peak_rss_kib: u64,
    cpu_s: f64,
    files: usize,
    received: u64,
    expected: u64,
) -> Sample {
    Sample::checked(
        vec![wall.as_secs_f64(), peak_rss_kib as f64 / 1024.0, cpu_s],
        files as u64,
        received,
        expected,
    )
}

/// Arguments of the hidden `bulk-child` subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct BulkChildArgs {
    #[arg(long, value_enum)]
    client: ClientKind,
    #[arg(long)]
    base: String,
    #[arg(long)]
    files: usize,
    #[arg(long)]
    total_bytes: u64,
    #[arg(long)]
    in_flight: usize,
    #[arg(long)]
    timeout_secs: u64,
}

/// The child side of the bulk scenario: downloads every file with one client, `in_flight` at a time,
/// on a `current_thread` runtime (one core, like curl), checking each file's length; prints JSON.
pub fn bulk_child(args: &BulkChildArgs) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sizes = Arc::new(bulk_sizes(args.files, args.total_bytes));
    let (received, rss_before) = runtime.block_on(async {
        let client = Client::new(args.client)?;
        let rss_before = vm_status_kib("VmRSS:");
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..args.in_flight.max(1))
            .map(|_| {
                let mut client = client.clone();
                let (next, sizes, base) = (next.clone(), sizes.clone(), args.base.clone());
                tokio::spawn(async move {
                    let mut received = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&size) = sizes.get(i) else {
                            return Ok::<u64, BoxError>(received);
                        };
                        let got = client.stream(&format!("{base}/bulk/{i}"), None).await?;
                        if got != size {
                            return Err(format!("file {i}: {got} bytes, expected {size}").into());
                        }
                        received += got;
                    }
                })
            })
            .collect();
        let all = async {
            let mut received = 0;
            for task in tasks {
                received += task.await??;
            }
            Ok::<u64, BoxError>(received)
        };
        let received = tokio::time::timeout(Duration::from_secs(args.timeout_secs), all)
            .await
            .map_err(|_| "bulk download timed out")??;
        Ok::<_, BoxError>((received, rss_before))
    })?;
    let report = serde_json::json!({
        "client": args.client.name(),
        "bytes": received,
        "rss_before_kib": rss_before,
        "vm_hwm_kib": vm_status_kib("VmHWM:"),
        "cpu_s": cpu::process_cpu_time().map(|c| c.as_secs_f64()),
    });
    println!("{report}");
    Ok(())
}

/// The total of curl's `--write-out` markers. curl 7.88 may print its parallel progress meter on stdout
/// even with `--silent`, so the markers are searched for rather than read line by line.
fn curl_sizes(stdout: &str) -> u64 {
    stdout
        .split("courier-bench-size=")
        .skip(1)
        .filter_map(|rest| {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..digits].parse::<u64>().ok()
        })
        .sum()
}

/// A `kB` field of this process's `/proc/self/status` (`VmRSS:`, `VmHWM:`).
fn vm_status_kib(field: &str) -> Option<u64> {
    status_field_kib("/proc/self/status", field)
}

/// A `kB` field of a `/proc/PID/status` file.
fn status_field_kib(path: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUTPUT: &str = "Running 2s test @ http://127.0.0.1:39999/small
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  200.00us   5.00ms   90.00%
    Req/Sec    52.00k     1.00k   54.00k    80.00%
  Latency Distribution
     50%    1.20ms
     75%    1.30ms
     90%    1.40ms
     99%  890.50us
  104000 requests in 2.00s, 10.00MB read
Requests/sec:  51980.12
Transfer/sec:      5.00MB
";

    #[test]
    fn reads_wrk_output() {
        let result = parse_wrk(WRK_OUTPUT).unwrap();
        assert_eq!(
            result,
            WrkResult {
                requests: 104_000,
                rps: 51_980.12,
                p50_us: 1200.0,
                p99_us: 890.5,
                errors: None,
            }
        );
        let with_errors = WRK_OUTPUT.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 12\nRequests/sec",
        );
        assert_eq!(
            parse_wrk(&with_errors).unwrap().errors.as_deref(),
            Some("Non-2xx or 3xx responses: 12")
        );
        assert!(parse_wrk("garbage").is_err());
    }

    #[test]
    fn wrk_durations() {
        assert_eq!(parse_wrk_duration("88.00us").unwrap(), 88.0);
        assert_eq!(parse_wrk_duration("2.00s").unwrap(), 2e6);
        assert!(parse_wrk_duration("12").is_err());
        assert!(parse_wrk_duration("1.0x").is_err());
    }

    #[test]
    fn curl_sizes_survive_the_progress_meter() {
        let out = "courier-bench-size=10\ncourier-bench-size=20DL% UL%  Dled\r--  -- 5 \n\
                   courier-bench-size=5\n";
        assert_eq!(curl_sizes(out), 35);
        assert_eq!(curl_sizes("DL% UL%"), 0);
    }

    #[test]
    fn finds_sh_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("surely-not-a-real-tool-name").is_none());
    }
}
