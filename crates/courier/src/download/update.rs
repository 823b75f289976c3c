//! Updating files already downloaded: each is fetched conditionally and left untouched on `304`, like
//! curl's `--etag-compare`, for a whole list.
//!
//! With [`update`](super::DownloaderBuilder::update) on, a finished file gets a `<path>.validators`
//! sidecar (small JSON: the URL, the `ETag` and the `Last-Modified` of the response it came from). On a
//! later run, a file in place is requested with `If-None-Match` and `If-Modified-Since` from that
//! sidecar, or, without one, with `If-Modified-Since` from the file's modification time (curl's `-z`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use http::header::{HeaderName, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use url::Url;

use super::job::with_suffix;

/// The validators of the response a file came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Validators {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

impl Validators {
    /// From a response's headers; `None` when it has neither validator.
    pub(super) fn from_headers(url: &Url, headers: &HeaderMap) -> Option<Validators> {
        let value = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        Validators::new(url, value(ETAG), value(LAST_MODIFIED))
    }

    pub(super) fn new(
        url: &Url,
        etag: Option<String>,
        last_modified: Option<String>,
    ) -> Option<Validators> {
        (etag.is_some() || last_modified.is_some()).then(|| Validators {
            url: url.as_str().to_owned(),
            etag,
            last_modified,
        })
    }

    /// The sidecar of the file at `dest`.
    pub(super) fn path(dest: &Path) -> PathBuf {
        with_suffix(dest, ".validators")
    }

    /// The sidecar of `dest`: `Ok(None)` when there is none, `Err(())` when there is one but it is
    /// not for `url` (or does not parse): then the file is known not to be `url`'s.
    async fn load(dest: &Path, url: &Url) -> Result<Option<Validators>, ()> {
        let bytes = match tokio::fs::read(Validators::path(dest)).await {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(_) => return Err(()),
        };
        let validators: Validators = serde_json::from_slice(&bytes).map_err(|_| ())?;
        if validators.url == url.as_str() {
            Ok(Some(validators))
        } else {
            Err(())
        }
    }

    /// Writes the sidecar of `dest`, or removes it when there is nothing to save.
    pub(super) async fn save(dest: &Path, validators: Option<&Validators>) -> std::io::Result<()> {
        let path = Validators::path(dest);
        match validators {
            Some(validators) => {
                let json = serde_json::to_vec(validators).map_err(std::io::Error::other)?;
                super::part::write_whole(&path, &json).await
            }
            None => match tokio::fs::remove_file(path).await {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            },
        }
    }
}

/// The headers that make a `GET` of `url` conditional on the file at `dest`; `None` when there is no
/// file there.
pub(super) async fn conditional(dest: &Path, url: &Url) -> Option<Vec<(HeaderName, String)>> {
    let metadata = tokio::fs::metadata(dest).await.ok()?;
    if !metadata.is_file() {
        return None;
    }
    let mut headers = Vec::new();
    // A sidecar for another URL (the list moved on to a new version saved under the same name) says
    // the file is not this URL's: no condition then, not even its modification time.
    match Validators::load(dest, url).await.ok()? {
        Some(validators) => {
            if let Some(etag) = validators.etag {
                headers.push((IF_NONE_MATCH, etag));
            }
            if let Some(date) = validators.last_modified {
                headers.push((IF_MODIFIED_SINCE, date));
            }
        }
        None => {
            let modified = metadata.modified().ok()?;
            if modified > SystemTime::UNIX_EPOCH {
                headers.push((IF_MODIFIED_SINCE, httpdate::fmt_http_date(modified)));
            }
        }
    }
    (!headers.is_empty()).then_some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_need_one_of_etag_or_date() {
        let url = Url::parse("http://127.0.0.1/f").unwrap();
        assert!(Validators::from_headers(&url, &HeaderMap::new()).is_none());
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, "W/\"x\"".parse().unwrap());
        let validators = Validators::from_headers(&url, &headers).unwrap();
        assert_eq!(validators.etag.as_deref(), Some("W/\"x\""));
        assert_eq!(validators.last_modified, None);
    }
}
