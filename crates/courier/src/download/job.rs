//! [`Job`]: one file to fetch, and [`JobId`], its number in a run.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use crate::{Error, IntoUrl};

/// One file to download: a URL, a destination path, and optionally the size and SHA-256 it must have.
///
/// ```
/// use courier::download::Job;
///
/// let job = Job::new("http://127.0.0.1:8080/data.bin", "downloads/data.bin")?
///     .expected_size(1024)
///     .sha256("5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")?;
/// assert_eq!(job.url().path(), "/data.bin");
/// assert_eq!(job.part_path(), std::path::Path::new("downloads/data.bin.part"));
/// # Ok::<(), courier::Error>(())
/// ```
#[derive(Clone)]
pub struct Job {
    url: Url,
    /// `Basic` credentials taken out of the URL's `user:password@`: sent with each request, never
    /// written to the sidecar files, events or errors that name the URL.
    authorization: Option<http::HeaderValue>,
    path: PathBuf,
    expected_size: Option<u64>,
    sha256: Option<[u8; 32]>,
}

impl Job {
    /// A job fetching `url` into `path`. Fails with a builder error if `url` does not parse.
    ///
    /// A `user:password@` in the URL is taken out of it and sent as `Basic` credentials with each
    /// request of the job (as a [`Request`](crate::Request) does): [`url`](Job::url), the
    /// `.part.meta` sidecar, events and errors never show the password.
    pub fn new<U: IntoUrl>(url: U, path: impl Into<PathBuf>) -> Result<Job, Error> {
        let mut url = url.into_url()?;
        let authorization = courier_core::urls::credentials(&url)
            .map(|(username, password)| courier_core::auth::basic_header(&username, &password));
        courier_core::urls::remove_credentials(&mut url);
        Ok(Job {
            url,
            authorization,
            path: path.into(),
            expected_size: None,
            sha256: None,
        })
    }

    /// The size the file must have; the download fails as soon as the server announces or sends
    /// another.
    pub fn expected_size(mut self, bytes: u64) -> Job {
        self.expected_size = Some(bytes);
        self
    }

    /// The SHA-256 the file must have, as 64 hex digits (either case). Fails with a builder error
    /// for anything else.
    pub fn sha256(mut self, hex: &str) -> Result<Job, Error> {
        self.sha256 = Some(parse_sha256(hex).ok_or_else(|| {
            Error::builder(format!(
                "invalid SHA-256 digest {hex:?}: expected 64 hex digits"
            ))
        })?);
        Ok(self)
    }

    /// The SHA-256 the file must have, as raw bytes.
    pub fn sha256_bytes(mut self, digest: [u8; 32]) -> Job {
        self.sha256 = Some(digest);
        self
    }

    /// The URL (without any `user:password@` it was given with).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `Authorization` the job's URL carried as `user:password@`.
    pub(super) fn authorization(&self) -> Option<&http::HeaderValue> {
        self.authorization.as_ref()
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the bytes go until the file is complete and verified: the path with `.part` appended.
    pub fn part_path(&self) -> PathBuf {
        with_suffix(&self.path, ".part")
    }

    /// The expected size, if set.
    pub fn get_expected_size(&self) -> Option<u64> {
        self.expected_size
    }

    /// The expected SHA-256, if set.
    pub fn get_sha256(&self) -> Option<&[u8; 32]> {
        self.sha256.as_ref()
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("url", &self.url.as_str())
            .field("path", &self.path)
            .field("expected_size", &self.expected_size)
            .field("sha256", &self.sha256.as_ref().map(|d| to_hex(d)))
            .finish()
    }
}

/// `path` with `suffix` appended to its file name (`a.tar.gz` -> `a.tar.gz.part`).
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks(2)) {
        // Digit by digit: `u8::from_str_radix` would accept a leading `+`.
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = (high * 16 + low) as u8;
    }
    Some(digest)
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A job's number in a run: its position in the list given to
/// [`Downloader::run`](super::Downloader::run), counting from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub(super) usize);

impl JobId {
    /// The job's position in the list given to the run.
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_parsed_strictly() {
        let hex = "5F70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
        let digest = parse_sha256(hex).unwrap();
        assert_eq!(to_hex(&digest), hex.to_lowercase());
        assert!(parse_sha256(&hex[1..]).is_none());
        assert!(parse_sha256(&format!("{}zz", &hex[2..])).is_none());
        assert!(
            parse_sha256("+f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")
                .is_none()
        );
        assert!(Job::new("http://h/", "x")
            .unwrap()
            .sha256("abc")
            .unwrap_err()
            .is_builder());
    }

    #[test]
    fn part_path_appends_to_the_file_name() {
        let job = Job::new("http://h/a", "dir/a.tar.gz").unwrap();
        assert_eq!(job.part_path(), PathBuf::from("dir/a.tar.gz.part"));
    }
}
