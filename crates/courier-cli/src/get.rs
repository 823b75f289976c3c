//! `courier get`: one request, the body streamed to stdout or a file.

use std::process::ExitCode;

use courier::cache::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

use courier::cookie::Jar;
use courier::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, REFERER};
use courier::redirect::Policy;
use courier::{Client, Method, Response, Version};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::{CliError, GetArgs};

/// curl's exit status for an HTTP error with `--fail`.
const HTTP_ERROR_EXIT: u8 = 22;

pub(crate) async fn run(args: GetArgs) -> Result<ExitCode, CliError> {
    // As curl: only -L follows, up to 50 unless --max-redirs says otherwise.
    let policy = if args.location {
        Policy::limited(args.max_redirects.unwrap_or(50))
    } else {
        Policy::none()
    };
    let mut builder = Client::builder().redirect(policy).netrc(args.netrc);
    if let Some(dir) = &args.cache {
        builder = builder.cache(Cache::on_disk(dir)?);
    }
    // 0: no limit, as curl's. Each attempt's own (see `Retries`), so set on the request.
    let max_time = args
        .max_time
        .filter(|&secs| secs != 0.0)
        .map(|secs| seconds(secs, "--max-time"))
        .transpose()?;
    builder = args.client.apply(builder)?;
    // The cookie engine: on with a cookie file to read (-b FILE) or to write (-c FILE).
    let cookie_file = args.cookie.as_deref().filter(|c| !c.contains('='));
    let jar = (cookie_file.is_some() || args.cookie_jar.is_some()).then(|| Arc::new(Jar::new()));
    if let Some(jar) = &jar {
        // As curl: `-b ''` only turns the engine on, and a file that does not exist yet (the usual
        // `-b jar -c jar` on a first run) holds no cookies.
        let cookie_file = cookie_file.filter(|path| !path.is_empty());
        let text = match cookie_file.map(std::fs::read) {
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
            Some(read) => Some(read.map_err(|e| {
                crate::Failure::error(
                    crate::Failure::READ_ERROR,
                    format!("cannot read {}: {e}", cookie_file.unwrap_or_default()),
                )
            })?),
            None => None,
        };
        if let (Some(path), Some(text)) = (cookie_file, text) {
            let loaded = if text.trim_ascii_start().starts_with(b"[") {
                jar.load_json(text.as_slice())
            } else {
                jar.load_netscape(text.as_slice())
            };
            loaded.map_err(|e| format!("cannot read cookies from {path}: {e}"))?;
        }
        builder = builder.cookie_provider(jar.clone());
    }
    let retries = Retries::from_args(&args)?;
    if args.verbose {
        let log = crate::verbose::Log::default();
        builder = builder.on_exchange(move |exchange| log.exchange(exchange));
    }
    if !args.compressed {
        // Like curl: without --compressed, ask for no coding and show the bytes as sent.
        builder = builder.no_decompression();
    }
    // `-H 'Name:'`: the command sends no such header of its own, as curl's (the client's default
    // `Accept: */*` excepted: reqwest's API, which Courier's follows, has no way to take it off).
    let removed: Vec<HeaderName> = args
        .headers
        .iter()
        .filter_map(|header| match parse_header(header) {
            Ok((name, None)) => Some(name),
            _ => None,
        })
        .collect();
    let removed = |name: &HeaderName| removed.contains(name);
    // The client's own, which a request header cannot take off.
    if removed(&courier::header::USER_AGENT) {
        builder = builder.no_user_agent();
    }
    let client = builder.build()?;

    let data = form_data(&args).await?;
    let method = match &args.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("invalid method {method:?}"))?,
        None if args.head => Method::HEAD,
        None if args.get => Method::GET,
        None if data.is_some() || args.json.is_some() || !args.form.is_empty() => Method::POST,
        None => Method::GET,
    };
    let mut url = crate::parse_url(&args.url)
        .map_err(|e| crate::Failure::error(crate::Failure::MALFORMED_URL, e))?;
    let data = match data {
        // -G: the data is the query string (appended to any the URL has).
        Some(data) if args.get => {
            let query = match url.query() {
                Some(existing) if !existing.is_empty() => {
                    format!("{existing}&{}", String::from_utf8_lossy(&data))
                }
                _ => String::from_utf8_lossy(&data).into_owned(),
            };
            url.set_query(Some(&query));
            None
        }
        other => other,
    };
    // --digest with `user:password@` in the URL and no -u: those answer the Digest challenge, as
    // curl's do (they would otherwise go out as Basic, the password in the clear).
    let mut user = args.user.clone();
    if args.digest && user.is_none() {
        if let Some((name, password)) = courier_core::urls::credentials(&url) {
            user = Some(format!("{name}:{password}"));
            courier_core::urls::remove_credentials(&mut url);
        }
    }
    let url_for_name = url.clone();
    let mut request = client.request(method.clone(), url);
    if let Some(cookie) = args
        .cookie
        .as_deref()
        .filter(|c| c.contains('=') && !removed(&courier::header::COOKIE))
    {
        request = request.header(courier::header::COOKIE, cookie);
    }
    if !args.form.is_empty() {
        request = request.multipart(multipart_form(&args.form).await?);
    }
    if let Some(user) = user.as_ref().filter(|_| !removed(&AUTHORIZATION)) {
        let (name, password) = match user.split_once(':') {
            Some((name, password)) => (name, password),
            None => (user.as_str(), ""),
        };
        request = if args.digest {
            request.digest_auth(name, password)
        } else {
            request.basic_auth(name, Some(password))
        };
    }
    if let Some(referer) = args.referer.as_ref().filter(|_| !removed(&REFERER)) {
        request = request.header(REFERER, referer.as_str());
    }
    let mut has_content_type = false;
    let mut has_accept = false;
    for header in &args.headers {
        let (name, value) = parse_header(header)?;
        has_content_type |= name == CONTENT_TYPE;
        has_accept |= name == ACCEPT;
        if let Some(value) = value {
            request = request.header(name, value);
        }
    }
    if let Some(body) = data {
        if !has_content_type {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        request = request.body(body);
    }
    if let Some(json) = &args.json {
        if !has_content_type {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        if !has_accept {
            request = request.header(ACCEPT, "application/json");
        }
        let body = match json.strip_prefix('@') {
            Some(source) => read_source(source).await?,
            None => json.clone().into_bytes(),
        };
        request = request.body(body);
    }

    let output = match (&args.output, args.remote_name) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(remote_name(&url_for_name)?),
        (None, false) => None,
    };
    // -o -: stdout, as curl's.
    let output = output.filter(|path| path.as_os_str() != "-");
    let output = match (output, &args.output_dir) {
        (Some(path), Some(dir)) => Some(dir.join(path)),
        (output, _) => output,
    };
    if let (true, Some(parent)) = (
        args.create_dirs,
        output.as_deref().and_then(std::path::Path::parent),
    ) {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                crate::Failure::error(
                    crate::Failure::WRITE_ERROR,
                    format!("cannot create {}: {e}", parent.display()),
                )
            })?;
        }
    }
    let limit = args.limit_rate.as_deref().map(parse_rate).transpose()?;
    // -C -: ask for what the file lacks, as it is when each attempt starts (a retry continues what
    // the failed attempt wrote, as wget -c's retries do).
    let resume = match (&args.continue_at, &output) {
        (None, _) => false,
        (Some(at), Some(_)) if at == "-" => true,
        (Some(at), Some(_)) => {
            return Err(
                format!("-C {at}: only '-C -' (resume from the file's size) is supported").into(),
            )
        }
        (Some(_), None) => return Err("-C - needs -o FILE or -O".into()),
    };
    let started = Instant::now();
    // Of the last attempt: what -w reports.
    let mut written;
    let mut facts;
    // Kept while retries are possible: each attempt sends a copy (a streamed body cannot be copied,
    // so such a request has one attempt).
    let mut template = Some(request);
    let mut retry = 0;
    let result = loop {
        let copy = retries
            .as_ref()
            .and_then(|_| template.as_ref().and_then(|t| t.try_clone()));
        let may_retry = copy.is_some();
        // A `POST` that may have been acted on goes again only with --retry-all-errors.
        let may_retry_status = may_retry
            && retries
                .as_ref()
                .is_some_and(|rules| rules.all_errors || method.is_idempotent());
        let attempt = copy.unwrap_or_else(|| template.take().expect("sent once at most"));
        let mut attempt = match max_time {
            Some(limit) => attempt.timeout(limit),
            None => attempt,
        };
        let resume_from = output
            .as_deref()
            .filter(|_| resume)
            .and_then(|path| std::fs::metadata(path).ok())
            .map(|meta| meta.len())
            .filter(|&len| len > 0);
        if let Some(from) = resume_from {
            attempt = attempt.header(courier::header::RANGE, format!("bytes={from}-"));
        }
        let to = Output {
            path: output.as_deref(),
            resume_from,
            limit,
        };
        written = 0;
        facts = None;
        let mut shown = false;
        let outcome = transfer(
            attempt,
            &args,
            &to,
            started,
            &mut facts,
            (&mut written, &mut shown),
            may_retry_status,
        )
        .await;
        let Some(rules) = retries.as_ref().filter(|_| may_retry) else {
            break outcome.map(Transferred::into_exit);
        };
        let (asked, why) = match &outcome {
            Ok(Transferred::Done(_)) => break outcome.map(Transferred::into_exit),
            Ok(Transferred::Transient(response)) => (
                courier_core::retry::retry_after(response.headers(), std::time::SystemTime::now()),
                format!("the server answered {}", response.status()),
            ),
            Err(err) if rules.retries_error(err, &method) => (None, err.to_string()),
            Err(_) => break outcome.map(Transferred::into_exit),
        };
        // What a failed attempt wrote to stdout cannot be taken back: a retry would repeat it. A
        // file is replaced by the next attempt, or with -C - continued from where this one stopped.
        let wait = rules
            .wait(retry, asked, started)
            .filter(|_| to.path.is_some() || (written == 0 && !shown));
        let Some(wait) = wait else {
            break match outcome {
                Ok(Transferred::Transient(response)) => {
                    finish(*response, &args, &to, (&mut written, &mut shown)).await
                }
                other => other.map(Transferred::into_exit),
            };
        };
        drop(outcome);
        if !args.silent {
            errln!(
                "courier: {why}; retrying in {:.1} s ({} {} left)",
                wait.as_secs_f64(),
                rules.max - retry,
                if rules.max - retry == 1 {
                    "retry"
                } else {
                    "retries"
                },
            );
        }
        tokio::time::sleep(wait).await;
        retry += 1;
    };
    // As curl: the cookie jar and -w are written whatever became of the transfer (-w with
    // `http_code` 000 when no response came).
    if let (Some(path), Some(jar)) = (&args.cookie_jar, &jar) {
        save_jar(jar, path).map_err(|e| {
            crate::Failure::error(
                crate::Failure::WRITE_ERROR,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    }
    if let Some(format) = &args.write_out {
        let facts = facts.unwrap_or_else(|| {
            // The URL as asked for, its credentials left out (as a response's URL is).
            let mut shown = url_for_name.clone();
            courier_core::urls::remove_credentials(&mut shown);
            crate::write_out::Facts::no_response(shown.as_str())
        });
        let text = facts.finish(written, started.elapsed()).render(format);
        let mut stdout = tokio::io::stdout();
        stdout
            .write_all(text.as_bytes())
            .await
            .map_err(write_error)?;
        stdout.flush().await.map_err(write_error)?;
    }
    result
}

/// Where an attempt's response goes: a file (appended to from `resume_from` for `-C -`) or stdout,
/// at most `limit` bytes a second.
struct Output<'a> {
    path: Option<&'a std::path::Path>,
    resume_from: Option<u64>,
    limit: Option<u64>,
}

/// What an attempt came to.
enum Transferred {
    /// Written where it goes; the exit status.
    Done(ExitCode),
    /// A transient status that may be retried (curl's: 408, 429, 500, 502, 503, 504): not written.
    Transient(Box<Response>),
}

impl Transferred {
    fn into_exit(self) -> ExitCode {
        match self {
            Transferred::Done(code) => code,
            // Only returned when the caller may retry, and finished by it otherwise.
            Transferred::Transient(_) => ExitCode::FAILURE,
        }
    }
}

/// Sends the request and writes the response where it goes, unless `may_retry` and its status is
/// transient (then returned unwritten); `facts` (for -w) is filled in when the head arrives, and
/// `written` counts what [`finish`] wrote.
async fn transfer(
    request: courier::RequestBuilder,
    args: &GetArgs,
    to: &Output<'_>,
    started: Instant,
    facts: &mut Option<crate::write_out::Facts>,
    written: (&mut u64, &mut bool),
    may_retry: bool,
) -> Result<Transferred, CliError> {
    let response = request.send().await?;
    let head_after = started.elapsed();
    if args.write_out.is_some() {
        *facts = Some(crate::write_out::Facts::of(&response, head_after));
    }
    if may_retry && CURL_TRANSIENT.contains(&response.status().as_u16()) {
        return Ok(Transferred::Transient(Box::new(response)));
    }
    finish(response, args, to, written)
        .await
        .map(Transferred::Done)
}

/// curl's transient statuses, retried by `--retry`.
const CURL_TRANSIENT: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// What of a response goes out.
#[derive(Clone, Copy)]
struct Show {
    /// Its head (and those of the redirects followed): -i, -I.
    head: bool,
    /// Its body: not with -I.
    body: bool,
    /// Refuse a body with a NUL byte in its first 2000 bytes or so (curl's rule): stdout is a terminal
    /// and -o was not given.
    refuse_binary: bool,
}

/// Writes a response where it goes (or, with -f, fails on an error status).
/// `written`: the body bytes written, and whether anything (a head, with -i) went to stdout.
async fn finish(
    response: Response,
    args: &GetArgs,
    to: &Output<'_>,
    (written, shown): (&mut u64, &mut bool),
) -> Result<ExitCode, CliError> {
    let status = response.status();
    let show = Show {
        head: args.include || args.head,
        // -I prints the head only, whatever the method (-X GET with it still reads no body).
        body: !args.head,
        // As curl: binary bytes on a terminal are refused unless asked for with -o -.
        refuse_binary: args.output.is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    // -f: the error page is not written. A 416 to a resume is not a failure: it may say the file
    // is already complete (as curl, which never fails it).
    let resume_refused =
        to.resume_from.is_some() && status == courier::StatusCode::RANGE_NOT_SATISFIABLE;
    if args.fail && (status.is_client_error() || status.is_server_error()) && !resume_refused {
        if !args.silent || args.show_error {
            errln!(
                "courier: the server answered {status} for {}",
                response.url()
            );
        }
        return Ok(ExitCode::from(HTTP_ERROR_EXIT));
    }
    match to.path {
        Some(path) => {
            // `None`: already complete; nothing to fetch, the file is left as it is.
            if let Some(mut file) = open_output(path, to.resume_from, &response).await? {
                let show = Show {
                    refuse_binary: false,
                    ..show
                };
                write_response(response, show, to.limit, &mut file, written).await?;
            }
        }
        None => {
            *shown = show.head;
            write_response(response, show, to.limit, &mut tokio::io::stdout(), written).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// curl's `--retry` family, applied to whole transfers as curl applies it: an attempt is retried
/// after a transient status (its body not written) or a timeout at any point (each attempt has its
/// own `-m`) when its method may be repeated, after an error before any response that left the
/// request unprocessed (what `courier_core::retry::may_resend` allows), and with
/// `--retry-all-errors` after any request error, a body cut short included, whatever the method. A
/// file a failed attempt wrote is replaced by the next (with `-C -`, continued from where it
/// stopped); what went to stdout cannot be taken back, so a failure after writing there is not
/// retried.
struct Retries {
    max: u32,
    /// `--retry-delay`: this long before each retry, instead of the backoff.
    delay: Option<Duration>,
    all_errors: bool,
    /// `--retry-max-time`: no retry starts later than this after the first attempt.
    max_time: Option<Duration>,
}

impl Retries {
    fn from_args(args: &GetArgs) -> Result<Option<Retries>, CliError> {
        let Some(max) = args.retry else {
            return Ok(None);
        };
        // 0: the default backoff, and no limit, as curl's.
        let delay = args
            .retry_delay
            .filter(|&secs| secs != 0.0)
            .map(|secs| seconds(secs, "--retry-delay"))
            .transpose()?;
        let max_time = args
            .retry_max_time
            .filter(|&secs| secs != 0.0)
            .map(|secs| seconds(secs, "--retry-max-time"))
            .transpose()?;
        Ok(Some(Retries {
            max,
            delay,
            all_errors: args.retry_all_errors,
            max_time,
        }))
    }

    /// Whether a failed attempt is retried (a file or stdout that cannot be written is not).
    fn retries_error(&self, err: &CliError, method: &Method) -> bool {
        let Some(err) = err.downcast_ref::<courier::Error>() else {
            return false;
        };
        // Never acted on (not sent, refused): any method. A timeout: what may be repeated.
        self.all_errors
            || courier_core::retry::may_resend(err, method)
            || (err.is_timeout() && method.is_idempotent())
    }

    /// The wait before retry number `retry` (from 0): the server's `Retry-After` (`asked`) however
    /// long, as curl waits it, else `--retry-delay` or the backoff; `None` when no retry is left or
    /// it would start past `--retry-max-time`.
    fn wait(&self, retry: u32, asked: Option<Duration>, started: Instant) -> Option<Duration> {
        use courier_core::retry::{DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY};
        if retry >= self.max {
            return None;
        }
        let wait = asked.or(self.delay).unwrap_or_else(|| {
            courier_core::retry::backoff(DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY, retry)
        });
        let past = self
            .max_time
            .is_some_and(|max| started.elapsed().saturating_add(wait) >= max);
        (!past).then_some(wait)
    }
}

/// The form body of -d, --data-binary and --data-raw (each a literal, or for the first two `@FILE`
/// or `@-` for stdin) and --data-urlencode, joined with `&` as curl joins them; `None` when there is
/// none. As curl's, -d's files lose their line breaks; --data-binary's are sent as they are.
async fn form_data(args: &GetArgs) -> Result<Option<Vec<u8>>, CliError> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (items, strip_newlines) in [(&args.data, true), (&args.data_binary, false)] {
        for data in items {
            parts.push(match data.strip_prefix('@') {
                Some(source) => {
                    let mut bytes = read_source(source).await?;
                    if strip_newlines {
                        bytes.retain(|&b| b != b'\r' && b != b'\n');
                    }
                    bytes
                }
                None => data.clone().into_bytes(),
            });
        }
    }
    parts.extend(args.data_raw.iter().map(|data| data.clone().into_bytes()));
    for item in &args.data_urlencode {
        let encode = |bytes: &[u8]| {
            percent_encoding::percent_encode(bytes, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        // curl's forms: `name=content`, `=content`, `name@file`, `@file`, or plain `content`.
        let part = if let Some((name, value)) = item.split_once('=') {
            if name.is_empty() {
                encode(value.as_bytes())
            } else {
                format!("{name}={}", encode(value.as_bytes()))
            }
        } else if let Some((name, path)) = item.split_once('@') {
            let content = encode(&read_source(path).await?);
            if name.is_empty() {
                content
            } else {
                format!("{name}={content}")
            }
        } else {
            encode(item.as_bytes())
        };
        parts.push(part.into_bytes());
    }
    Ok((!parts.is_empty()).then(|| parts.join(&b'&')))
}

/// A multipart form of -F fields, in curl's syntax: `name=value`, `name=@FILE` (a file upload),
/// `name=<FILE` (a text field holding the file's content), `-` for stdin as FILE, each optionally
/// followed by `;type=MIME` and `;filename=NAME`.
async fn multipart_form(fields: &[String]) -> Result<courier::multipart::Form, CliError> {
    use courier::multipart::Part;
    let mut form = courier::multipart::Form::new();
    for field in fields {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| format!("-F {field:?}: expected name=value or name=@file"))?;
        let (value, mime, file_name) = field_params(value);
        let mut part = if let Some(path) = value.strip_prefix('@') {
            // Named (and typed) as the file is, unless ;filename= and ;type= say otherwise.
            match path {
                "-" => Part::bytes(read_stdin().await?).file_name("-"),
                path => file_part(path).await.map_err(|e| {
                    crate::Failure::error(
                        crate::Failure::READ_ERROR,
                        format!("cannot read {path}: {e}"),
                    )
                })?,
            }
        } else if let Some(path) = value.strip_prefix('<') {
            Part::bytes(read_source(path).await?)
        } else {
            Part::text(value.to_owned())
        };
        if let Some(file_name) = file_name {
            part = part.file_name(file_name.to_owned());
        }
        if let Some(mime) = mime {
            part = part
                .mime_str(mime)
                .map_err(|e| format!("-F {field:?}: type {mime:?}: {e}"))?;
        }
        form = form.part(name.to_owned(), part);
    }
    Ok(form)
}

/// Files up to this size are read into memory for -F, so the form can be sent again (a 307/308
/// redirect with -L, --retry), as curl rewinds them; larger ones are streamed, once.
const FORM_FILE_IN_MEMORY: u64 = 64 * 1024 * 1024;

/// The part for `-F name=@path`.
async fn file_part(path: &str) -> std::io::Result<courier::multipart::Part> {
    use courier::multipart::Part;
    let meta = tokio::fs::metadata(path).await?;
    if meta.is_file() && meta.len() <= FORM_FILE_IN_MEMORY {
        Part::file_buffered(path).await
    } else {
        Part::file(path).await
    }
}

/// Splits `;type=` and `;filename=` off the end of a -F value: (the value, the type, the name).
fn field_params(mut value: &str) -> (&str, Option<&str>, Option<&str>) {
    let (mut mime, mut file_name) = (None, None);
    while let Some((rest, param)) = value.rsplit_once(';') {
        let (key, param_value) = param.split_once('=').unwrap_or((param, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "type" if mime.is_none() => mime = Some(param_value.trim()),
            "filename" if file_name.is_none() => {
                file_name = Some(param_value.trim().trim_matches('"'));
            }
            _ => break,
        }
        value = rest;
    }
    (value, mime, file_name)
}

/// What an `@SOURCE` names, as curl reads it: stdin for `-`, else the file.
async fn read_source(source: &str) -> Result<Vec<u8>, CliError> {
    match source {
        "-" => read_stdin().await,
        path => read_file(path).await,
    }
}

async fn read_file(path: &str) -> Result<Vec<u8>, CliError> {
    tokio::fs::read(path).await.map_err(|e| {
        crate::Failure::error(
            crate::Failure::READ_ERROR,
            format!("cannot read {path}: {e}"),
        )
    })
}

/// A timeout given in (fractional) seconds, as curl takes them.
pub(crate) fn seconds(secs: f64, flag: &str) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{flag} needs a positive number of seconds, not {secs}").into())
}

/// curl's -O: the URL's last path segment, decoded, as a file name in the current directory.
fn remote_name(url: &courier::Url) -> Result<std::path::PathBuf, CliError> {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    // Control characters (a newline, an escape sequence) stay encoded, as wget keeps them: a file
    // name that rewrites the terminal when listed is worse than a `%0A` in it.
    let mut name = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        if c.is_control() {
            let mut utf8 = [0; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                name.push_str(&format!("%{byte:02X}"));
            }
        } else {
            name.push(c);
        }
    }
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        // curl's exit status for it: a write error.
        return Err(crate::Failure::error(
            crate::Failure::WRITE_ERROR,
            format!("-O: no file name in {url}"),
        ));
    }
    Ok(std::path::PathBuf::from(name))
}

/// A -H header as curl reads it: `Name: value`; `Name:` with no value sends no such header (`None`),
/// and `Name;` sends it empty.
pub(crate) fn parse_header(text: &str) -> Result<(HeaderName, Option<HeaderValue>), CliError> {
    let invalid = || format!("invalid header {text:?}: expected 'Name: value'");
    let name = |name: &str| HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| invalid());
    if let Some(empty) = text.trim_end().strip_suffix(';') {
        if !empty.contains(':') {
            return Ok((name(empty)?, Some(HeaderValue::from_static(""))));
        }
    }
    let (header, value) = text.split_once(':').ok_or_else(invalid)?;
    let value = value.trim();
    if value.is_empty() {
        return Ok((name(header)?, None));
    }
    let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
    Ok((name(header)?, Some(value)))
}

async fn read_stdin() -> Result<Vec<u8>, CliError> {
    use tokio::io::AsyncReadExt;
    let mut body = Vec::new();
    tokio::io::stdin()
        .read_to_end(&mut body)
        .await
        .map_err(|e| {
            crate::Failure::error(
                crate::Failure::READ_ERROR,
                format!("cannot read stdin: {e}"),
            )
        })?;
    Ok(body)
}

/// Writes the head (with `-i`) and streams the body chunk by chunk, counting the body bytes written.
async fn write_response<W>(
    mut response: Response,
    show: Show,
    limit: Option<u64>,
    out: &mut W,
    written: &mut u64,
) -> Result<(), CliError>
where
    W: AsyncWrite + Unpin,
{
    if show.head {
        // Each redirect followed shows its head first, as curl's -iL does (their bodies are not read).
        let mut heads = Vec::new();
        for hop in response.history() {
            push_head(
                &mut heads,
                hop.version(),
                hop.status(),
                hop.reason(),
                hop.headers(),
            );
        }
        let (version, status) = (response.version(), response.status());
        push_head(
            &mut heads,
            version,
            status,
            response.reason(),
            response.headers(),
        );
        out.write_all(&heads).await.map_err(write_error)?;
    }
    if !show.body {
        return Ok(());
    }
    let started = Instant::now();
    while let Some(chunk) = response.chunk().await? {
        // As curl: every write until 2000 bytes have gone out is looked at, not just the first
        // (a harmless first chunk must not open the way for the rest).
        if show.refuse_binary && *written < 2000 && chunk.contains(&0) {
            return Err(crate::Failure::error(
                crate::Failure::WRITE_ERROR,
                "binary output can mess up your terminal: use -o - to write it there anyway, \
                 or -o FILE to save it",
            ));
        }
        out.write_all(&chunk).await.map_err(write_error)?;
        *written += chunk.len() as u64;
        // --limit-rate: not ahead of RATE on average; pausing the reads lets TCP slow the sender.
        if let Some(rate) = limit {
            let due = Duration::from_secs_f64(*written as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    out.flush().await.map_err(write_error)
}

/// A response head as -i shows it: the status line, the headers, a blank line.
fn push_head(
    out: &mut Vec<u8>,
    version: Version,
    status: courier::StatusCode,
    reason: &str,
    headers: &courier::header::HeaderMap,
) {
    out.extend_from_slice(status_line(version, status, reason).as_bytes());
    out.extend_from_slice(b"\r\n");
    courier_core::headers::write_lines(out, headers);
    out.extend_from_slice(b"\r\n");
}

/// curl's status 23: the output could not be written (a full disk, a closed pipe).
fn write_error(err: std::io::Error) -> CliError {
    crate::Failure::error(
        crate::Failure::WRITE_ERROR,
        format!("cannot write the output: {err}"),
    )
}

/// `HTTP/1.1`, `HTTP/2`, ... as a status or request line writes the version.
pub(crate) fn version_text(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// `HTTP/1.1 200 OK`, as `-i` and `-v` show a response.
pub(crate) fn status_line(version: Version, status: courier::StatusCode, reason: &str) -> String {
    format!("{} {} {reason}", version_text(version), status.as_str())
}

/// The output file for a response: appended to for exactly the asked-for range, replaced for a whole
/// body; `None` when the server says the file is already complete (416 to a resume).
async fn open_output(
    path: &std::path::Path,
    resume_from: Option<u64>,
    response: &Response,
) -> Result<Option<tokio::fs::File>, CliError> {
    let create = || async {
        tokio::fs::File::create(path).await.map_err(|e| {
            crate::Failure::error(
                crate::Failure::WRITE_ERROR,
                format!("cannot create {}: {e}", path.display()),
            )
        })
    };
    let Some(from) = resume_from else {
        return Ok(Some(create().await?));
    };
    match response.status().as_u16() {
        206 => {
            // Only bytes that continue the file exactly are appended: anything else would corrupt it.
            let start = response
                .headers()
                .get(courier::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if start != Some(from) {
                return Err(format!(
                    "-C -: the server sent a range that does not continue {} at byte {from}",
                    path.display()
                )
                .into());
            }
            let file = tokio::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .await
                .map_err(|e| {
                    crate::Failure::error(
                        crate::Failure::WRITE_ERROR,
                        format!("cannot open {}: {e}", path.display()),
                    )
                })?;
            Ok(Some(file))
        }
        416 => {
            // Complete only if the server says the file is exactly as long as ours: a file that
            // shrank or changed would otherwise be left wrong, and reported done.
            let total = response
                .headers()
                .get(courier::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().strip_prefix("bytes */"))
                .and_then(|v| v.trim().parse::<u64>().ok());
            if total == Some(from) {
                return Ok(None);
            }
            Err(format!(
                "-C -: the server refused the range: {} has {from} bytes, the server's file {}",
                path.display(),
                match total {
                    Some(total) => format!("has {total}"),
                    None => "did not say its length".to_owned(),
                }
            )
            .into())
        }
        // The whole body: it replaces the file.
        200 => Ok(Some(create().await?)),
        // An error page, a redirect not followed, a 204...: not the file's rest, and not the file.
        // The file is left as it was; as curl, this is a range error (33).
        _ => Err(crate::Failure::error(
            crate::Failure::RANGE_ERROR,
            format!(
                "-C -: the server answered {} instead of the rest of {}; the file is left as it was",
                response.status(),
                path.display()
            ),
        )),
    }
}

/// curl's --limit-rate: a number of bytes per second, with `k`, `M` or `G` (1024-based).
pub(crate) fn parse_rate(text: &str) -> Result<u64, CliError> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 'b'),
    };
    let factor: u64 = match unit {
        'b' => 1,
        'k' => 1024,
        'm' => 1024 * 1024,
        'g' => 1024 * 1024 * 1024,
        _ => return Err(format!("--limit-rate {text:?}: use a number with k, M or G").into()),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("--limit-rate {text:?}: use a number with k, M or G"))?;
    let rate = (value * factor as f64) as u64;
    if rate == 0 {
        return Err(format!("--limit-rate {text:?} must be positive").into());
    }
    Ok(rate)
}

/// Writes the cookie jar to `path` (JSON for a `.json` name, else Netscape) through a file beside it
/// renamed into place, so a crash or a full disk mid-write leaves the old jar whole.
fn save_jar(jar: &courier::cookie::Jar, path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str() == "-" {
        // -c -: stdout, as curl's (in Netscape form).
        let mut out = std::io::stdout().lock();
        jar.save_netscape(&mut out)?;
        return std::io::Write::flush(&mut out);
    }
    // Through a symlink to the file it names; and with that file's permissions (a jar of session
    // cookies kept private stays private).
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    // A name no one can have planted (a symlink there would be followed by a plain create): created
    // new, never opened if it exists.
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    name.push(format!(".courier-{}-{nonce:08x}.tmp", std::process::id()));
    let temp = target.with_file_name(name);
    let written = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        let mut file = std::io::BufWriter::new(file);
        if path.extension().is_some_and(|e| e == "json") {
            jar.save_json_incl_session(&mut file)?;
        } else {
            jar.save_netscape(&mut file)?;
        }
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_curls_suffixes() {
        assert_eq!(parse_rate("500").unwrap(), 500);
        assert_eq!(parse_rate("100k").unwrap(), 102_400);
        assert_eq!(parse_rate("1.5M").unwrap(), 1_572_864);
        assert_eq!(parse_rate("2G").unwrap(), 2 * 1024 * 1024 * 1024);
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("10x").is_err());
    }

    #[test]
    fn remote_names_come_from_the_last_segment() {
        let name = |url: &str| remote_name(&url.parse().unwrap()).map(|p| p.display().to_string());
        assert_eq!(
            name("http://127.0.0.1/a/b/report%20v2.pdf").unwrap(),
            "report v2.pdf"
        );
        assert!(name("http://127.0.0.1/").is_err());
        assert!(name("http://127.0.0.1/a/%2e%2e").is_err());
        assert!(name("http://127.0.0.1/a/..%2fetc").is_err());
        assert_eq!(
            name("http://127.0.0.1/a%0Ab%1B[2J%C2%85.txt").unwrap(),
            "a%0Ab%1B[2J%C2%85.txt"
        );
    }

    #[test]
    fn form_fields_take_curls_type_and_filename() {
        assert_eq!(field_params("plain"), ("plain", None, None));
        assert_eq!(
            field_params("@a.png;type=image/png"),
            ("@a.png", Some("image/png"), None)
        );
        assert_eq!(
            field_params("@a.png;filename=\"b.png\";type=image/png"),
            ("@a.png", Some("image/png"), Some("b.png"))
        );
        // A `;` that starts no parameter is part of the value.
        assert_eq!(field_params("a;b=c"), ("a;b=c", None, None));
        assert_eq!(
            field_params("x;y;type=text/x"),
            ("x;y", Some("text/x"), None)
        );
    }

    #[test]
    fn headers_parse() {
        let (name, value) = parse_header("X-Token:  abc ").unwrap();
        assert_eq!(
            (name.as_str(), value.unwrap().to_str().unwrap()),
            ("x-token", "abc")
        );
        // curl's forms: `Name:` sends nothing, `Name;` an empty value.
        let (name, value) = parse_header("X-Gone:").unwrap();
        assert_eq!((name.as_str(), value), ("x-gone", None));
        let (name, value) = parse_header("X-Empty;").unwrap();
        assert_eq!(
            (name.as_str(), value.unwrap().to_str().unwrap()),
            ("x-empty", "")
        );
        // A `;` inside a value is the value's.
        let (_, value) = parse_header("Cookie: a=1;").unwrap();
        assert_eq!(value.unwrap(), "a=1;");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert!(parse_header("x: line\nbreak").is_err());
    }
}
