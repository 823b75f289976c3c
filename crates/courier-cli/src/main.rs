//! `courier`: a small curl (`courier get`) and a concurrent bulk downloader (`courier download`), on the
//! Courier HTTP client.
//!
//! ```text
//! courier get https://example.com/ -i
//! courier get https://example.com/feed.json --cache ~/.cache/courier -i
//! courier get https://httpbin.org/post -X POST -H 'Accept: application/json' --json '{"a":1}'
//! courier download -i urls.txt -d downloads -j 16 --per-host 4 --segments 4 --resume
//! courier download -i urls.txt -d downloads --checksums SHA256SUMS --limit-rate 10M
//! courier get -v -L https://example.com/old-page -o /dev/null
//! ```
//!
//! Proxies come from `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`, as the client honours
//! them by default.

/// `println!` that carries on when stdout is closed (`courier download --json | head -1`): the
/// downloads are the job, a report nobody reads is not worth a panic mid-run.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!`, carrying on when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!`, carrying on when stderr is closed.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!`, carrying on when stderr is closed.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod checksums;
mod client_args;
mod download;
mod get;
mod plain_progress;
mod progress;
mod report;
mod verbose;
mod write_out;

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
    Get(Box<GetArgs>),
    /// Download every URL of a list concurrently, with live progress and a summary.
    Download(Box<DownloadArgs>),
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
    /// Send DATA as a form body (`application/x-www-form-urlencoded`); `@FILE` (or `@-`, stdin) sends a
    /// file's text without its line breaks, as curl does. Repeat for more (joined with `&`).
    #[arg(
        short = 'd',
        long = "data",
        visible_alias = "data-ascii",
        value_name = "DATA",
        conflicts_with = "json"
    )]
    pub(crate) data: Vec<String>,
    /// As -d, but `@FILE` sends the file's bytes exactly as they are.
    #[arg(long = "data-binary", value_name = "DATA", conflicts_with = "json")]
    pub(crate) data_binary: Vec<String>,
    /// As -d, but DATA is sent as written: a leading `@` is not a file.
    #[arg(long = "data-raw", value_name = "DATA", conflicts_with = "json")]
    pub(crate) data_raw: Vec<String>,
    /// Form data, URL-encoded: `name=value`, `=value`, `name@FILE` or `@FILE`; repeat for more
    /// (joined with `&`, after the -d, --data-binary and --data-raw parts).
    #[arg(long = "data-urlencode", value_name = "DATA", conflicts_with = "json")]
    pub(crate) data_urlencode: Vec<String>,
    /// Send the -d / --data-urlencode data as the URL's query string in a GET, as curl's -G.
    #[arg(short = 'G', long = "get")]
    pub(crate) get: bool,
    /// A multipart form field, as curl's: `name=value`, `name=@FILE` (a file upload) or `name=<FILE`
    /// (a field holding the file's text), `-` for stdin, each optionally followed by `;type=MIME`
    /// and `;filename=NAME`; repeat for more.
    #[arg(short = 'F', long = "form", value_name = "NAME=VALUE", conflicts_with_all = ["data", "data_binary", "data_raw", "data_urlencode", "json"])]
    pub(crate) form: Vec<String>,
    /// Cookies to send: `name=value; name2=value2`, or a cookie file to start from (curl's Netscape
    /// format, or Courier's JSON), which also turns the cookie engine on.
    #[arg(short = 'b', long = "cookie", value_name = "NAME=VALUE|FILE")]
    pub(crate) cookie: Option<String>,
    /// After the transfer, write every cookie to FILE in curl's Netscape format (JSON if FILE ends
    /// with `.json`).
    #[arg(short = 'c', long = "cookie-jar", value_name = "FILE")]
    pub(crate) cookie_jar: Option<PathBuf>,
    /// Retry up to N times on transient failures, as curl's: timeouts, connection resets and
    /// refusals, 408, 429, 500, 502, 503 and 504.
    #[arg(long = "retry", value_name = "N")]
    pub(crate) retry: Option<u32>,
    /// Wait SECONDS between retries (instead of exponential backoff).
    #[arg(long = "retry-delay", value_name = "SECONDS", requires = "retry")]
    pub(crate) retry_delay: Option<f64>,
    /// Start no retry once SECONDS have passed since the first attempt (one whose wait would end
    /// later is not made either); 0: no limit.
    #[arg(long = "retry-max-time", value_name = "SECONDS", requires = "retry")]
    pub(crate) retry_max_time: Option<f64>,
    /// Retry on any error, timeouts included, and for any method.
    #[arg(long = "retry-all-errors", requires = "retry")]
    pub(crate) retry_all_errors: bool,
    /// Print no error message (exit status only), unless -S.
    #[arg(short = 's', long = "silent")]
    pub(crate) silent: bool,
    /// With -s, still print error messages.
    #[arg(short = 'S', long = "show-error")]
    pub(crate) show_error: bool,
    /// Use HTTP/2 when the server offers it (the default; accepted for curl's habit).
    #[arg(long = "http2")]
    pub(crate) http2: bool,
    /// Send JSON as the body, with `Content-Type` and `Accept: application/json`; `@FILE` (or `@-`
    /// for stdin) sends a file's, as curl's.
    #[arg(long, value_name = "JSON")]
    pub(crate) json: Option<String>,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Print the status line and headers before the body.
    #[arg(short = 'i', long = "include")]
    pub(crate) include: bool,
    /// On stderr, as curl: `*` the connection (address, reuse, TLS version, protocol) and redirects
    /// followed, `>` each request head as written, `<` each response head, redirect hops and retries
    /// included. As with curl, credentials (`Authorization`, `Cookie`) are shown as sent.
    #[arg(short = 'v', long = "verbose")]
    pub(crate) verbose: bool,
    /// Follow redirects (up to 50, as curl, or --max-redirects).
    #[arg(short = 'L', long = "location")]
    pub(crate) location: bool,
    /// With -L, follow at most N redirects (default 50); curl's name, --max-redirs, works too.
    #[arg(long, visible_alias = "max-redirs", value_name = "N")]
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
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// Keep responses in an HTTP cache in DIR (created if missing) and answer from it when RFC 9111
    /// allows; with -i, the `Cache-Status` header tells what the cache did.
    #[arg(long, value_name = "DIR")]
    pub(crate) cache: Option<PathBuf>,
    /// Basic authentication, `USER:PASSWORD` (or `USER` for an empty password); with `--digest`,
    /// the credentials answer a Digest challenge instead.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub(crate) user: Option<String>,
    /// Use `-u`'s credentials (or the URL's `user:password@`) for HTTP Digest authentication
    /// (RFC 7616): sent only in answer to the server's `401` Digest challenge, never as Basic.
    #[arg(long)]
    pub(crate) digest: bool,
    /// The `Referer` to send.
    #[arg(short = 'e', long = "referer", value_name = "URL")]
    pub(crate) referer: Option<String>,
    /// Give up an attempt after SECONDS, redirects included (exit status 28), as curl's -m; with
    /// --retry, each attempt has its own.
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS")]
    pub(crate) max_time: Option<f64>,
    /// Send a HEAD request and print the response head only.
    #[arg(short = 'I', long = "head", conflicts_with_all = ["data", "data_binary", "data_raw", "data_urlencode", "form", "json"])]
    pub(crate) head: bool,
    /// Resume a transfer into the -o/-O file: `-C -` asks for the bytes after those the file has
    /// (a `Range` request); the file is appended to only if the server answers with exactly that
    /// range, replaced if it sends the whole body, left as it is if it is already complete.
    #[arg(
        short = 'C',
        long = "continue-at",
        value_name = "-",
        allow_hyphen_values = true
    )]
    pub(crate) continue_at: Option<String>,
    /// Read the body no faster than RATE bytes per second (`k`, `M`, `G` suffixes: 1024-based).
    #[arg(long = "limit-rate", value_name = "RATE")]
    pub(crate) limit_rate: Option<String>,
    /// Write the body to a file named like the URL's last path segment, in the current directory
    /// (or --output-dir).
    #[arg(short = 'O', long = "remote-name", conflicts_with = "output")]
    pub(crate) remote_name: bool,
    /// The directory -o and -O write into (a relative -o FILE is taken inside it), as curl's.
    #[arg(long = "output-dir", value_name = "DIR")]
    pub(crate) output_dir: Option<PathBuf>,
    /// Create the output file's missing directories, as curl's.
    #[arg(long = "create-dirs")]
    pub(crate) create_dirs: bool,
    /// After the transfer, print FORMAT to stdout with curl's variables replaced: %{http_code},
    /// %{url_effective}, %{num_redirects}, %{size_download}, %{speed_download}, %{time_namelookup},
    /// %{time_connect}, %{time_appconnect}, %{time_starttransfer}, %{time_total}, %{remote_ip},
    /// %{remote_port}, %{http_version}, %{content_type}, %{time_redirect}, %{response_code},
    /// %{json}; `\n` is a newline.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub(crate) write_out: Option<String>,
}

/// How connections are made: the options `get` and `download` share, with curl's names.
#[derive(Args, Debug, Default)]
pub(crate) struct ClientArgs {
    /// The `User-Agent` to send.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub(crate) user_agent: Option<String>,
    /// Give up connecting after SECONDS (exit status 28).
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    pub(crate) connect_timeout: Option<f64>,
    /// Accept any server certificate (self-signed, expired, another name's). Never in production.
    #[arg(short = 'k', long = "insecure")]
    pub(crate) insecure: bool,
    /// Trust the CA certificates in this PEM file instead of the system's, as curl's --cacert.
    #[arg(long = "cacert", value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,
    /// A client certificate for mutual TLS, PEM (with its key, unless --key names the key file).
    #[arg(short = 'E', long = "cert", value_name = "FILE")]
    pub(crate) cert: Option<PathBuf>,
    /// The private key of --cert, PEM.
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    /// Use this proxy (`http://`, `https://`, `socks5h://`, ...), as curl's -x.
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub(crate) proxy: Option<String>,
    /// Hosts that bypass the proxy, comma-separated, as curl's --noproxy.
    #[arg(long = "noproxy", value_name = "LIST")]
    pub(crate) noproxy: Option<String>,
    /// Speak HTTP/1.1 only.
    #[arg(long = "http1.1", conflicts_with = "http2_prior_knowledge")]
    pub(crate) http1_1: bool,
    /// Speak HTTP/2 from the first byte (no upgrade or ALPN needed).
    #[arg(long = "http2-prior-knowledge")]
    pub(crate) http2_prior_knowledge: bool,
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
    /// The longest `Retry-After` to wait for before a retry (a rate-limited server often asks for a
    /// minute or more); a server asking for longer fails the file.
    #[arg(
        long = "max-retry-after",
        value_name = "SECONDS",
        default_value_t = 300.0
    )]
    pub(crate) max_retry_after: f64,
    /// For scripts: one JSON object per file on stdout as it finishes (`finished`, `unchanged` or
    /// `failed`, with its URL, path, and bytes or error and its cause), then a `summary` object with
    /// the summary table's data; no progress display.
    #[arg(long, conflicts_with = "quiet")]
    pub(crate) json: bool,
    /// No progress and no summary: errors only (the exit status tells the rest). Without it, progress
    /// is drawn as bars on a terminal, and as plain lines otherwise (every second, and one per file
    /// as it finishes), and a summary table ends the run.
    #[arg(short = 'q', long)]
    pub(crate) quiet: bool,
    /// A request header for every file, `Name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,
    /// Basic authentication for every file, `USER:PASSWORD`.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub(crate) user: Option<String>,
    /// Give up on a request (one attempt of a file, or of one of its segments) after SECONDS; a
    /// timed-out attempt is retried and resumed like any transient failure (see --retries).
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub(crate) timeout: Option<f64>,
    /// Verify files against FILE, in `sha256sum` format (`<64 hex digits>  <name>`, or
    /// `<hex> *<name>`): a downloaded file whose name (as saved under DIR) is listed must have that
    /// SHA-256, or it fails (and is not kept); files not listed are not checked.
    #[arg(long = "checksums", value_name = "FILE")]
    pub(crate) checksums: Option<PathBuf>,
    /// Read no faster than RATE bytes per second in total, all files together (`k`, `M`, `G`
    /// suffixes: 1024-based). Time spent held back counts toward each file's `--timeout`: size
    /// the timeout for the capped rate shared by `-j` files.
    #[arg(long = "limit-rate", value_name = "RATE")]
    pub(crate) limit_rate: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(&cli.command, Command::Get(args) if args.silent && !args.show_error);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            errln!("courier: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Get(args) => get::run(*args).await,
            Command::Download(args) => download::run(*args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            // `{:#}`: Courier's errors add their causes, so the message says why as well as what.
            if !quiet {
                errln!("courier: {err:#}");
            }
            ExitCode::from(exit_code(&*err))
        }
    }
}

/// An error for the user: printed after `courier: `, then the process exits with curl's status for
/// the same failure (see [`exit_code`]).
pub(crate) type CliError = Box<dyn std::error::Error + Send + Sync>;

/// A failure that has its own curl exit status: a malformed URL (3), a write to the output that
/// failed (23), a file that could not be read (26), a resume the server did not answer with a range
/// (33).
#[derive(Debug)]
pub(crate) struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    pub(crate) const MALFORMED_URL: u8 = 3;
    pub(crate) const WRITE_ERROR: u8 = 23;
    pub(crate) const READ_ERROR: u8 = 26;
    pub(crate) const RANGE_ERROR: u8 = 33;

    pub(crate) fn error(status: u8, message: impl Into<String>) -> CliError {
        Box::new(Failure {
            status,
            message: message.into(),
        })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A URL as curl takes it on its command line: with no `scheme://`, `http://` is assumed
/// (`localhost:8080/x` would otherwise be a URL of the scheme `localhost`). The error names the URL
/// without its `user:password@`, as the library's errors do.
pub(crate) fn parse_url(text: &str) -> Result<courier::Url, String> {
    let parsed = if text.contains("://") {
        courier::IntoUrl::into_url(text)
    } else {
        courier::IntoUrl::into_url(format!("http://{text}"))
    };
    parsed.map_err(|err| match std::error::Error::source(&err) {
        Some(cause) => cause.to_string(),
        None => err.to_string(),
    })
}

/// curl's exit statuses where curl has one for the failure: 6 a name that did not resolve, 7 a
/// connection that failed, 18 a body that ended early, 28 a timeout, 35 a TLS handshake that failed,
/// 47 too many redirects, 52 a connection closed with no answer, 56 a connection reset, 60 a server
/// certificate that is not trusted, 61 a body that did not decode; 1 for anything else (22 with `-f`
/// is returned by `get`).
pub(crate) fn exit_code(err: &(dyn std::error::Error + 'static)) -> u8 {
    if let Some(failure) = err.downcast_ref::<Failure>() {
        return failure.status;
    }
    let Some(err) = err.downcast_ref::<courier::Error>() else {
        return 1;
    };
    if err.is_timeout() {
        return 28;
    }
    if err.is_dns() {
        return 6;
    }
    if err.is_redirect() && cause::<courier::redirect::TooManyRedirects>(err).is_some() {
        return 47;
    }
    if err.is_decode() {
        // Bad content encoding.
        return 61;
    }
    let reset = cause::<std::io::Error>(err).is_some_and(|io| {
        use std::io::ErrorKind::*;
        matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe)
    });
    if err.is_body() {
        // Reset mid-body: a failure receiving (56). Ended early: a partial file (18).
        return if reset { 56 } else { 18 };
    }
    if let Some(courier::Fate::Lost { .. }) = err.fate() {
        // No whole response head: reset (56), or closed with nothing said, curl's "empty reply
        // from server" (52).
        return if reset { 56 } else { 52 };
    }
    if err.is_connect() || err.is_request() {
        match cause::<rustls::Error>(err) {
            Some(rustls::Error::InvalidCertificate(_)) => return 60,
            Some(_) => return 35,
            None if err.is_connect() => return 7,
            None => {}
        }
    }
    1
}

/// The first cause of type `T` in `err`'s chain, looking inside `io::Error`s.
fn cause<T: std::error::Error + 'static>(err: &courier::Error) -> Option<&T> {
    let mut next = std::error::Error::source(err);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}
