//! The end of `courier download`: the summary table (or the `--json` summary object, which carries
//! the same data), and the short cause each failure is counted under.

use std::collections::BTreeMap;
use std::fmt::Write;

use courier::download::{DownloadError, DownloadErrorKind, Summary};
use indicatif::BinaryBytes;
use serde_json::{json, Value};

/// Why a download failed, in a few words to group failures by: `http 404`, `proxy 407` (a proxy
/// refused the tunnel), `checksum mismatch`, `timeout`, `connect`, `dns`, `tls`, ...
pub(crate) fn cause(error: &DownloadError) -> String {
    let words = match error.kind() {
        DownloadErrorKind::Http => match error.http_error() {
            Some(err) => match (err.status(), err.proxy_status()) {
                (Some(status), _) => return format!("http {}", status.as_u16()),
                (None, Some(status)) => return format!("proxy {}", status.as_u16()),
                // The classes curl's exit statuses tell apart.
                (None, None) => match crate::exit_code(err) {
                    6 => "dns",
                    7 => "connect",
                    28 => "timeout",
                    35 | 60 => "tls",
                    47 => "too many redirects",
                    _ if err.is_body() => "body cut short",
                    _ => "request",
                },
            },
            None => "request",
        },
        DownloadErrorKind::Io => "file error",
        DownloadErrorKind::SizeMismatch { .. } => "size mismatch",
        DownloadErrorKind::ChecksumMismatch { .. } => "checksum mismatch",
        DownloadErrorKind::InvalidResponse(_) => "invalid response",
        DownloadErrorKind::Cancelled => "cancelled",
        _ => "other",
    };
    words.to_owned()
}

/// The failures counted by cause, most frequent first (then by name).
fn by_cause(summary: &Summary) -> Vec<(String, usize)> {
    let mut counts = BTreeMap::new();
    for failure in &summary.failures {
        *counts.entry(cause(&failure.error)).or_insert(0) += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// The table printed at the end of a run:
///
/// ```text
/// files:     2 ok, 3 failed
/// bytes:     26 B
/// time:      0.05 s, 520 B/s on average
/// retries:   1
/// failures:  http 404: 2
///            connect: 1
/// ```
pub(crate) fn table(summary: &Summary, retries: u64) -> String {
    let mut out = String::new();
    let mut files = format!("{} ok", summary.files);
    if summary.unchanged > 0 {
        let _ = write!(files, ", {} unchanged", summary.unchanged);
    }
    let _ = write!(files, ", {} failed", summary.failures.len());
    let _ = writeln!(out, "files:     {files}");
    let _ = writeln!(out, "bytes:     {}", BinaryBytes(summary.bytes));
    let _ = writeln!(
        out,
        "time:      {:.2} s, {}/s on average",
        summary.elapsed.as_secs_f64(),
        BinaryBytes(summary.throughput() as u64)
    );
    let _ = writeln!(out, "retries:   {retries}");
    let causes = by_cause(summary);
    if causes.is_empty() {
        let _ = writeln!(out, "failures:  none");
    }
    for (i, (cause, count)) in causes.iter().enumerate() {
        let label = if i == 0 { "failures:" } else { "" };
        let _ = writeln!(out, "{label:<10} {cause}: {count}");
    }
    out
}

/// The `--json` summary object: the table's data, and each failure with its cause.
pub(crate) fn json(summary: &Summary, retries: u64) -> Value {
    let failures: Vec<_> = summary
        .failures
        .iter()
        .map(|f| {
            json!({
                "url": f.url.as_str(),
                "path": f.path.display().to_string(),
                "cause": cause(&f.error),
                "error": format!("{:#}", f.error),
            })
        })
        .collect();
    let by_cause: serde_json::Map<String, Value> = by_cause(summary)
        .into_iter()
        .map(|(cause, count)| (cause, json!(count)))
        .collect();
    json!({"summary": {
        "files": summary.files,
        "unchanged": summary.unchanged,
        "failed": summary.failures.len(),
        "bytes": summary.bytes,
        "elapsed_s": summary.elapsed.as_secs_f64(),
        "bytes_per_s": summary.throughput(),
        "retries": retries,
        "failures_by_cause": by_cause,
        "failures": failures,
    }})
}
