//! `courier download`: a URL list fetched concurrently into a folder.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use courier::download::{Downloader, Event, EventKind, Job, JobId};
use courier::Client;
use url::Url;

use crate::checksums::Checksums;
use crate::plain_progress::{self, PlainProgress};
use crate::progress::Progress;
use crate::{CliError, DownloadArgs};

/// The exit status after Ctrl-C, as shells report a SIGINT.
const INTERRUPTED_EXIT: u8 = 130;

pub(crate) async fn run(args: DownloadArgs) -> Result<ExitCode, CliError> {
    let list = if args.input.as_os_str() == "-" {
        use tokio::io::AsyncReadExt;
        let mut text = String::new();
        tokio::io::stdin().read_to_string(&mut text).await?;
        text
    } else {
        tokio::fs::read_to_string(&args.input)
            .await
            .map_err(|e| format!("cannot read {}: {e}", args.input.display()))?
    };
    let entries = parse_list(&list, args.update)?;
    if entries.is_empty() {
        return Err(format!("{} holds no URL", args.input.display()).into());
    }
    let checksums = match &args.checksums {
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Checksums::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Checksums::default(),
    };
    let jobs = entries
        .into_iter()
        .map(|(url, name)| {
            let job = Job::new(url, args.dir.join(&name))?;
            match checksums.get(&name) {
                Some(digest) => job.sha256(digest),
                None => Ok(job),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;

    let live = !args.quiet && !args.json;
    let terminal = std::io::stderr().is_terminal();
    let progress = Progress::new(jobs.len(), live && terminal);
    let plain = (live && !terminal).then(|| PlainProgress::new(jobs.len()));
    let retries = Arc::new(AtomicU64::new(0));
    let events = progress.clone();
    let plain_events = plain.clone();
    let retry_count = retries.clone();
    let json = args.json.then(|| Arc::new(JsonReport::default()));
    let json_events = json.clone();
    let mut builder = args.client.apply(Client::builder())?;
    let mut headers = courier::header::HeaderMap::new();
    for header in &args.headers {
        if let (name, Some(value)) = crate::get::parse_header(header)? {
            headers.append(name, value);
        }
    }
    if let Some(user) = &args.user {
        let (name, password) = user.split_once(':').unwrap_or((user.as_str(), ""));
        headers.insert(
            courier::header::AUTHORIZATION,
            courier_core::auth::basic_header(name, password),
        );
    }
    if !headers.is_empty() {
        builder = builder.default_headers(headers);
    }
    if let Some(secs) = args.timeout {
        builder = builder.timeout(crate::get::seconds(secs, "--timeout")?);
    }
    let limit_rate = match &args.limit_rate {
        Some(rate) => crate::get::parse_rate(rate)?,
        None => 0,
    };
    let downloader = Downloader::builder(builder.build()?)
        .limit_rate(limit_rate)
        .concurrency(args.jobs)
        .per_host(args.per_host)
        .segments(args.segments)
        .resume(args.resume)
        .update(args.update)
        .retries(args.retries)
        .max_retry_after(
            std::time::Duration::try_from_secs_f64(args.max_retry_after).map_err(|_| {
                format!(
                    "--max-retry-after needs a number of seconds, not {}",
                    args.max_retry_after
                )
            })?,
        )
        .on_event(move |event| {
            if matches!(event.kind, EventKind::Retried { .. }) {
                retry_count.fetch_add(1, Ordering::Relaxed);
            }
            events.handle(event);
            if let Some(plain) = &plain_events {
                plain.handle(event);
            }
            if let Some(json) = &json_events {
                json.handle(event);
            }
        })
        .build();
    let cancel = downloader.cancel_handle();
    let notes = progress.clone();
    let interrupt = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        cancel.cancel();
        notes.note("interrupted: stopping, partial files are kept (Ctrl-C again to quit at once)");
        // Listening for Ctrl-C replaced its default action, which would end the process at once: a
        // second one does that, whatever is still running (a rename after a long sync, say).
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(INTERRUPTED_EXIT.into());
        }
    });

    let ticker = plain.clone().map(|plain| {
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + plain_progress::TICK;
            let mut ticks = tokio::time::interval_at(start, plain_progress::TICK);
            // A busy machine gets one late line, not a burst of them.
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                plain.tick();
            }
        })
    });

    let summary = downloader.run(jobs).await;
    interrupt.abort();
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    progress.finish();

    let retries = retries.load(Ordering::Relaxed);
    if args.json {
        outln!("{}", crate::report::json(&summary, retries));
    } else if !args.quiet {
        out!("{}", crate::report::table(&summary, retries));
    }
    if !args.json {
        for failure in &summary.failures {
            errln!("failed: {:#}", failure.error);
        }
    }
    Ok(if summary.failures.iter().any(|f| f.error.is_cancelled()) {
        ExitCode::from(INTERRUPTED_EXIT)
    } else if summary.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The list's `(url, file name)` pairs: one URL per line, optionally followed by a tab and the name
/// to save it as; blank lines and lines starting with `#` are skipped. Names from URLs are made
/// unique (`a.txt`, `a.txt.1`, ...); names given explicitly must be unique and stay inside the folder.
/// "Unique" counts the `NAME.part` and `NAME.part.meta` each download writes as well (and with
/// `update` its `NAME.validators`).
fn parse_list(text: &str, update: bool) -> Result<Vec<(Url, PathBuf)>, CliError> {
    let mut entries = Vec::new();
    let mut taken = HashMap::new();
    let mut suffixes: HashMap<String, u64> = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (url, name) = match line.split_once('\t') {
            Some((url, name)) => (url.trim(), Some(name.trim())),
            None => (line.trim(), None),
        };
        let url = crate::parse_url(url).map_err(|e| format!("line {number}: {e}"))?;
        let name = match name.filter(|n| !n.is_empty()) {
            Some(name) => {
                // `./x` and `x` are one file: compared (and written) without `.` components.
                let path = crate::checksums::normalize(Path::new(name));
                if !stays_inside(&path) {
                    return Err(format!(
                        "line {number}: {name:?} must be a relative path inside the download folder"
                    )
                    .into());
                }
                if let Some((owner, file)) = reserve(&mut taken, &path, update) {
                    return Err(if owner == path {
                        format!("line {number}: {name:?} is named twice")
                    } else {
                        format!(
                            "line {number}: {name:?} clashes with {owner:?} of an earlier line: \
                             both would write {file:?} (a download to NAME also writes {})",
                            if update {
                                "NAME.part, NAME.part.meta and NAME.validators"
                            } else {
                                "NAME.part and NAME.part.meta"
                            }
                        )
                    }
                    .into());
                }
                path
            }
            None => {
                let base = name_from_url(&url);
                let mut path = PathBuf::from(&base);
                // Counting on from the last suffix this name got: 100,000 lines all named `get`
                // would otherwise try 1, 2, 3... again for each.
                let n = suffixes.entry(base.clone()).or_insert(0);
                while reserve(&mut taken, &path, update).is_some() {
                    *n += 1;
                    path = PathBuf::from(format!("{base}.{n}"));
                }
                path
            }
        };
        entries.push((url, name));
    }
    Ok(entries)
}

/// Reserves the files a download of `name` writes (`name`, `name.part`, `name.part.meta`, and with
/// `update` `name.validators`) in `taken` (each file to the name that writes it), or returns the
/// earlier name and the file it already holds (reserving nothing then): `x.part` would otherwise be
/// written into while `x` is still downloading into it.
///
/// Names are compared as written: on a case-insensitive file system (the defaults of macOS and
/// Windows) `A.bin` and `a.bin` are one file and are not caught here.
fn reserve(
    taken: &mut HashMap<PathBuf, PathBuf>,
    name: &Path,
    update: bool,
) -> Option<(PathBuf, PathBuf)> {
    let mut files = vec![
        name.to_owned(),
        with_suffix(name, ".part"),
        with_suffix(name, ".part.meta"),
    ];
    if update {
        files.push(with_suffix(name, ".validators"));
    }
    if let Some((file, owner)) = files.iter().find_map(|f| taken.get_key_value(f)) {
        return Some((owner.clone(), file.clone()));
    }
    taken.extend(files.into_iter().map(|file| (file, name.to_owned())));
    None
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// True for a relative path of plain names: no root, no `..`, no drive prefix.
fn stays_inside(path: &Path) -> bool {
    // `.` components were taken off by `checksums::normalize`.
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The last non-empty path segment, made safe as a file name; `index.html` for a bare host.
fn name_from_url(url: &Url) -> String {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .unwrap_or("");
    let name: String = segment
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '\0' => '_',
            c => c,
        })
        .collect();
    match name.as_str() {
        "" | "." | ".." => "index.html".to_owned(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines_names_and_comments() {
        let list = "# mirror list\n\
                    http://h/a/file.bin\n\
                    \n\
                    http://h/b/file.bin\r\n\
                    http://h/\tsub/custom.txt\n\
                    http://h/x/\n\
                    http://h/y/..%2f..%2fetc\n";
        let entries = parse_list(list, false).unwrap();
        let names: Vec<_> = entries.iter().map(|(_, n)| n.to_str().unwrap()).collect();
        assert_eq!(
            names,
            vec![
                "file.bin",
                "file.bin.1",
                "sub/custom.txt",
                "x",
                "..%2f..%2fetc"
            ]
        );
        assert_eq!(entries[2].0.as_str(), "http://h/");
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let err = parse_list("http://h/a\nnot a url\n", false).unwrap_err();
        assert!(err.to_string().starts_with("line 2: invalid URL"), "{err}");
        // Named without its credentials.
        let err = parse_list("http://bob:hunter2@h:99999/x\n", false).unwrap_err();
        assert!(err.to_string().starts_with("line 1: invalid URL"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = parse_list("http://h/a\t../escape\n", false).unwrap_err();
        assert!(
            err.to_string().contains("inside the download folder"),
            "{err}"
        );
        assert!(parse_list("http://h/a\t/etc/passwd\n", false).is_err());
        let err = parse_list("http://h/a\tsame\nhttp://h/b\tsame\n", false).unwrap_err();
        assert!(err.to_string().contains("named twice"), "{err}");
        // `./x` is `x`: named in the list, or taken from the URL.
        let err = parse_list("http://h/a\tx\nhttp://h/b\t./x\n", false).unwrap_err();
        assert!(err.to_string().contains("named twice"), "{err}");
        let err = parse_list("http://h/x\nhttp://h/b\t./x\n", false).unwrap_err();
        assert!(err.to_string().contains("named twice"), "{err}");
        let entries = parse_list("http://h/a\td/./y\n", false).unwrap();
        assert_eq!(entries[0].1, PathBuf::from("d/y"));
        assert!(parse_list("http://h/a\t.\n", false).is_err());
    }

    #[test]
    fn a_name_never_lands_on_another_lines_partial_file() {
        // Names from URLs move aside: `x.part` would be the first download's `.part`.
        let entries =
            parse_list("http://h/x\nhttp://h/x.part\nhttp://h/x.part.meta\n", false).unwrap();
        let names: Vec<_> = entries.iter().map(|(_, n)| n.to_str().unwrap()).collect();
        assert_eq!(names, vec!["x", "x.part.1", "x.part.meta.1"]);
        // The other way round, `x` would download into `x.part`.
        let entries = parse_list("http://h/x.part\nhttp://h/x\n", false).unwrap();
        let names: Vec<_> = entries.iter().map(|(_, n)| n.to_str().unwrap()).collect();
        assert_eq!(names, vec!["x.part", "x.1"]);
        // Names given explicitly are an error, with the line.
        let err = parse_list("http://h/a\tx\nhttp://h/b\tx.part\n", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: \"x.part\" clashes with \"x\" of an earlier line: both would write \
             \"x.part\" (a download to NAME also writes NAME.part and NAME.part.meta)"
        );
        let err = parse_list("http://h/a\tx.part.meta\nhttp://h/b\tx\n", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: \"x\" clashes with \"x.part.meta\" of an earlier line: both would write \
             \"x.part.meta\" (a download to NAME also writes NAME.part and NAME.part.meta)"
        );
    }

    #[test]
    fn with_update_a_name_never_lands_on_another_lines_validators() {
        let entries = parse_list("http://h/x\nhttp://h/x.validators\n", false).unwrap();
        let names: Vec<_> = entries.iter().map(|(_, n)| n.to_str().unwrap()).collect();
        assert_eq!(names, vec!["x", "x.validators"]);
        let entries = parse_list("http://h/x\nhttp://h/x.validators\n", true).unwrap();
        let names: Vec<_> = entries.iter().map(|(_, n)| n.to_str().unwrap()).collect();
        assert_eq!(names, vec!["x", "x.validators.1"]);
        let err = parse_list("http://h/a\tx\nhttp://h/b\tx.validators\n", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: \"x.validators\" clashes with \"x\" of an earlier line: both would write \
             \"x.validators\" (a download to NAME also writes NAME.part, NAME.part.meta and \
             NAME.validators)"
        );
    }

    #[test]
    fn many_lines_with_one_name_are_numbered_in_linear_time() {
        let list: String = (0..100_000)
            .map(|i| format!("http://h/get?id={i}\n"))
            .collect();
        let started = std::time::Instant::now();
        let entries = parse_list(&list, false).unwrap();
        let names: Vec<_> = entries.iter().map(|(_, n)| n.to_str().unwrap()).collect();
        assert_eq!(names[..3], ["get", "get.1", "get.2"]);
        assert_eq!(names[99_999], "get.99999");
        // Quadratic numbering takes minutes here; linear, well under a second even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn names_from_urls() {
        let name = |u: &str| name_from_url(&Url::parse(u).unwrap());
        assert_eq!(name("https://h/dir/archive.tar.gz?x=1"), "archive.tar.gz");
        assert_eq!(name("https://h/"), "index.html");
        assert_eq!(name("https://h/dir/"), "dir");
        assert_eq!(name("https://h/a/.."), "index.html");
    }
}

/// `--json`: a line per file as it ends, for scripts.
#[derive(Default)]
struct JsonReport {
    /// Each job's URL and path, from its `Queued` event.
    jobs: Mutex<HashMap<JobId, (String, String)>>,
}

impl JsonReport {
    fn handle(&self, event: &Event) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let line = match &event.kind {
            EventKind::Queued { url, path } => {
                jobs.insert(event.job, (url.to_string(), path.display().to_string()));
                return;
            }
            EventKind::Finished { bytes } => ("finished", serde_json::json!({ "bytes": bytes })),
            EventKind::Unchanged { bytes } => ("unchanged", serde_json::json!({ "bytes": bytes })),
            EventKind::Failed { error } => (
                "failed",
                serde_json::json!({
                    "cause": crate::report::cause(error),
                    "error": format!("{error:#}"),
                }),
            ),
            _ => return,
        };
        let (url, path) = jobs.remove(&event.job).unwrap_or_default();
        let (kind, mut object) = line;
        object["event"] = kind.into();
        object["url"] = url.into();
        object["path"] = path.into();
        // One write per line, so lines from jobs ending together never interleave.
        outln!("{object}");
    }
}
