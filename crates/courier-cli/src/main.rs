//! `courier`: a small curl (`courier get`) and a concurrent bulk downloader (`courier download`), on the
//! Courier HTTP client.
//!
//! ```text
//! courier get https://example.com/ -i
//! courier get https://example.com/feed.json --cache ~/.cache/courier -i
//! courier get https://httpbin.org/post -X POST -H 'Accept: application/json' --json '{"a":1}'
//! courier download -i urls.txt -d downloads -j 16 --per-host 4 --segments 4 --resume
//! ```
//!
//! Proxies come from `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`, as the client honours
//! them by default.

mod download;
mod get;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "courier",
    version,
    about = "HTTP requests and concurrent bulk downloads"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send one request and write the response body to stdout (or a file), like a small curl.
    Get(GetArgs),
    /// Download every URL of a list concurrently, with live progress and a summary.
    Download(DownloadArgs),
}

/// `courier get`.
#[derive(Args, Debug)]
pub(crate) struct GetArgs {
    /// The URL to request.
    pub(crate) url: String,
    /// The method (default GET, or POST with -d / --json).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub(crate) method: Option<String>,
    /// A request header, `Name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,
    /// Send DATA as a form body (`application/x-www-form-urlencoded`); `@FILE` sends a file's bytes.
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "json"
    )]
    pub(crate) data: Option<String>,
    /// Send JSON as the body, with `Content-Type` and `Accept: application/json`.
    #[arg(long, value_name = "JSON")]
    pub(crate) json: Option<String>,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Print the status line and headers before the body.
    #[arg(short = 'i', long = "include")]
    pub(crate) include: bool,
    /// Follow redirects (up to 10, or --max-redirects).
    #[arg(short = 'L', long = "location")]
    pub(crate) location: bool,
    /// Follow at most N redirects (implies -L).
    #[arg(long, value_name = "N")]
    pub(crate) max_redirects: Option<usize>,
    /// Ask for a compressed response (gzip, deflate, br, zstd) and decode it.
    #[arg(long)]
    pub(crate) compressed: bool,
    /// Exit with status 22 when the server answers 400 or above.
    #[arg(short = 'f', long)]
    pub(crate) fail: bool,
    /// Answer authentication challenges with the credentials of `$NETRC` or `~/.netrc`.
    #[arg(long)]
    pub(crate) netrc: bool,
    /// Keep responses in an HTTP cache in DIR (created if missing) and answer from it when RFC 9111
    /// allows; with -i, the `Cache-Status` header tells what the cache did.
    #[arg(long, value_name = "DIR")]
    pub(crate) cache: Option<PathBuf>,
}

/// `courier download`.
#[derive(Args, Debug)]
pub(crate) struct DownloadArgs {
    /// The list of URLs: one per line, optionally `URL<TAB>name`; `#` starts a comment; `-` is stdin.
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub(crate) input: PathBuf,
    /// The folder to download into (created if missing).
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = ".")]
    pub(crate) dir: PathBuf,
    /// How many files download at once.
    #[arg(short = 'j', long = "jobs", value_name = "JOBS", default_value_t = 8)]
    pub(crate) jobs: usize,
    /// The most requests at once to one host, segments included (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) per_host: usize,
    /// Fetch a large file as N ranges at once when the server supports ranges.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) segments: usize,
    /// Continue `.part` files left by an earlier run instead of starting them over.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Fetch files already in DIR conditionally (validators saved beside them by an earlier --update
    /// run, else their modification time) and leave them untouched when unchanged (304).
    #[arg(long)]
    pub(crate) update: bool,
    /// Retries per file after transient failures (connection errors, 408, 429, 5xx).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) retries: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("courier: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Get(args) => get::run(args).await,
            Command::Download(args) => download::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("courier: {err}");
            ExitCode::FAILURE
        }
    }
}

/// An error for the user: printed after `courier: `, then the process exits with status 1.
pub(crate) type CliError = Box<dyn std::error::Error + Send + Sync>;
