//! `.netrc`: the credentials file of ftp, curl and Python's requests, read into a [`CredentialStore`].

use std::fmt;
use std::path::{Path, PathBuf};

use super::credentials::{CredentialStore, Credentials};

/// Reads the `.netrc` file named by `$NETRC`, else `~/.netrc`, into a [`CredentialStore`]: one host
/// entry per `machine`, and the `default` entry. Its credentials may answer `Basic` challenges too
/// ([`Credentials::allow_basic`]), as curl and requests use them.
///
/// A missing `~/.netrc` is an empty store; a missing `$NETRC` file is an error.
///
/// ```no_run
/// let store = courier_core::auth::netrc::load()?;
/// println!("{} entries", store.len());
/// # Ok::<(), courier_core::auth::netrc::NetrcError>(())
/// ```
pub fn load() -> Result<CredentialStore, NetrcError> {
    if let Some(path) = std::env::var_os("NETRC").filter(|p| !p.is_empty()) {
        return load_from(Path::new(&path));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty());
    let Some(home) = home else {
        return Ok(CredentialStore::new());
    };
    let path = PathBuf::from(home).join(".netrc");
    match std::fs::read_to_string(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(CredentialStore::new()),
        Err(err) => Err(NetrcError::io(&path, err)),
        Ok(text) => parse(&text).map_err(|e| e.in_file(&path)),
    }
}

/// Reads the `.netrc` file at `path`.
pub fn load_from(path: &Path) -> Result<CredentialStore, NetrcError> {
    let text = std::fs::read_to_string(path).map_err(|err| NetrcError::io(path, err))?;
    parse(&text).map_err(|e| e.in_file(path))
}

/// Parses `.netrc` text.
///
/// Words are separated by spaces, tabs and newlines; a word may be written in double quotes (with `\"`
/// and `\\`) to hold spaces. `machine NAME` starts an entry, `default` starts the entry for every other
/// host; `login`, `password` and `account` (ignored) give its values. `macdef NAME` and the lines up to
/// the next empty line are skipped; a line whose first word starts with `#` is a comment (as in curl,
/// a `#` elsewhere is part of a word: `password #hash`). The first entry for a machine wins, as in
/// curl.
///
/// Errors name the line and never quote the file's words (they may be passwords).
///
/// ```
/// use courier_core::auth::netrc;
///
/// let store = netrc::parse("machine api.example.com login ada password \"love lace\"\ndefault login anon password x\n")?;
/// assert_eq!(store.len(), 2);
/// let err = netrc::parse("machine a.example login ada\npassword").unwrap_err();
/// assert_eq!(err.to_string(), "line 2 of .netrc: `password` without a value");
/// # Ok::<(), netrc::NetrcError>(())
/// ```
pub fn parse(text: &str) -> Result<CredentialStore, NetrcError> {
    let mut words = Words::new(text);
    let mut store = CredentialStore::new();
    let mut seen_hosts: Vec<String> = Vec::new();
    let mut seen_default = false;
    // The entry being read: its host (`None` for `default`), login and password.
    let mut entry: Option<Entry> = None;

    let mut finish = |entry: Option<Entry>, store: &mut CredentialStore| {
        let Some(entry) = entry else { return };
        let credentials = Credentials::new(
            entry.login.unwrap_or_default(),
            entry.password.unwrap_or_default(),
        )
        .allow_basic(true);
        match entry.host {
            Some(host) if !seen_hosts.contains(&host) => {
                *store = std::mem::take(store).host(&host, credentials);
                seen_hosts.push(host);
            }
            Some(_) => {}
            None if !seen_default => {
                *store = std::mem::take(store).default_credentials(credentials);
                seen_default = true;
            }
            None => {}
        }
    };

    while let Some((word, line)) = words.next()? {
        match word.as_str() {
            "machine" => {
                finish(entry.take(), &mut store);
                let host = words.value(line, "machine")?;
                entry = Some(Entry::new(Some(host.to_ascii_lowercase())));
            }
            "default" => {
                finish(entry.take(), &mut store);
                entry = Some(Entry::new(None));
            }
            "login" | "password" | "account" => {
                let keyword = if word == "login" {
                    "login"
                } else if word == "password" {
                    "password"
                } else {
                    "account"
                };
                let value = words.value(line, keyword)?;
                let Some(current) = entry.as_mut() else {
                    return Err(NetrcError::syntax(
                        line,
                        format!("`{keyword}` before any `machine` or `default`"),
                    ));
                };
                match keyword {
                    "login" => current.login = Some(value),
                    "password" => current.password = Some(value),
                    _ => {}
                }
            }
            "macdef" => {
                finish(entry.take(), &mut store);
                words.value(line, "macdef")?;
                words.skip_macro();
            }
            _ => return Err(NetrcError::syntax(
                line,
                "unexpected word (expected machine, default, login, password, account or macdef)",
            )),
        }
    }
    finish(entry, &mut store);
    Ok(store)
}

struct Entry {
    host: Option<String>,
    login: Option<String>,
    password: Option<String>,
}

impl Entry {
    fn new(host: Option<String>) -> Entry {
        Entry {
            host,
            login: None,
            password: None,
        }
    }
}

/// The words of the file, with their line numbers.
struct Words<'a> {
    rest: &'a str,
    line: usize,
    /// Nothing but blanks read on the current line yet: a `#` here starts a comment.
    line_start: bool,
}

impl<'a> Words<'a> {
    fn new(text: &'a str) -> Self {
        Words {
            rest: text,
            line: 1,
            line_start: true,
        }
    }

    /// The next word and its line; `None` at the end.
    fn next(&mut self) -> Result<Option<(String, usize)>, NetrcError> {
        loop {
            let start = self
                .rest
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(self.rest.len());
            self.advance(start);
            if self.rest.is_empty() {
                return Ok(None);
            }
            // As in curl, only a line's first word comments: `password #hash` is a password.
            if self.line_start && self.rest.starts_with('#') {
                let end = self.rest.find('\n').unwrap_or(self.rest.len());
                self.advance(end);
                continue;
            }
            self.line_start = false;
            let line = self.line;
            if let Some(quoted) = self.rest.strip_prefix('"') {
                let mut word = String::new();
                let mut chars = quoted.char_indices();
                loop {
                    match chars.next() {
                        None => {
                            return Err(NetrcError::syntax(line, "a quoted word is not closed"))
                        }
                        Some((i, '"')) => {
                            self.advance(i + 2);
                            return Ok(Some((word, line)));
                        }
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c)) => word.push(c),
                            None => {
                                return Err(NetrcError::syntax(line, "a quoted word is not closed"))
                            }
                        },
                        Some((_, c)) => word.push(c),
                    }
                }
            }
            let end = self
                .rest
                .find(char::is_whitespace)
                .unwrap_or(self.rest.len());
            let word = self.rest[..end].to_owned();
            self.advance(end);
            return Ok(Some((word, line)));
        }
    }

    /// The value after `keyword` (at `line`).
    fn value(&mut self, line: usize, keyword: &str) -> Result<String, NetrcError> {
        match self.next()? {
            Some((value, _)) => Ok(value),
            None => Err(NetrcError::syntax(
                line,
                format!("`{keyword}` without a value"),
            )),
        }
    }

    /// Skips a macro definition: up to and including the next empty line.
    fn skip_macro(&mut self) {
        // The rest of the `macdef` line.
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        self.advance(end);
        while !self.rest.is_empty() {
            let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
            let blank = self.rest[..end].trim().is_empty();
            self.advance(end);
            if blank {
                return;
            }
        }
    }

    fn advance(&mut self, n: usize) {
        let newlines = self.rest[..n].matches('\n').count();
        self.line += newlines;
        self.line_start |= newlines > 0;
        self.rest = &self.rest[n..];
    }
}

/// A `.netrc` file that could not be read or parsed. Never quotes the file's content.
#[derive(Debug)]
pub struct NetrcError {
    path: Option<PathBuf>,
    line: Option<usize>,
    message: String,
    source: Option<std::io::Error>,
}

impl NetrcError {
    fn syntax(line: usize, message: impl Into<String>) -> NetrcError {
        NetrcError {
            path: None,
            line: Some(line),
            message: message.into(),
            source: None,
        }
    }

    fn io(path: &Path, err: std::io::Error) -> NetrcError {
        NetrcError {
            path: Some(path.to_owned()),
            line: None,
            message: "cannot read the file".to_owned(),
            source: Some(err),
        }
    }

    fn in_file(mut self, path: &Path) -> NetrcError {
        self.path = Some(path.to_owned());
        self
    }

    /// The line (from 1) of a syntax error.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The file, when known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for NetrcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.path) {
            (Some(line), Some(path)) => write!(f, "line {line} of {}: ", path.display())?,
            (Some(line), None) => write!(f, "line {line} of .netrc: ")?,
            (None, Some(path)) => write!(f, "{}: ", path.display())?,
            (None, None) => f.write_str(".netrc: ")?,
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for NetrcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::super::credentials::Origin;
    use super::*;

    fn lookup(store: &CredentialStore, url: &str) -> Option<(String, String)> {
        let origin = Origin::of(&url.parse().unwrap()).unwrap();
        store
            .lookup(&origin)
            .map(|c| (c.username().to_owned(), c.password().to_owned()))
    }

    fn pair(user: &str, password: &str) -> Option<(String, String)> {
        Some((user.to_owned(), password.to_owned()))
    }

    #[test]
    fn machines_default_quotes_comments_and_macros() {
        let store = parse(concat!(
            "# my machines\n",
            "machine API.example.com\n  login ada\n  password lovelace\n  # an indented comment\n",
            "machine files.example.com login \"grace h\" password \"with \\\"quotes\\\" and \\\\\" account x\n",
            "macdef init\ncd /pub\nmachine not.a.machine login no password no\n\n",
            "machine api.example.com login second password ignored\n",
            "default login anonymous password guest@\n",
        ))
        .unwrap();
        assert_eq!(
            lookup(&store, "https://api.example.com/x"),
            pair("ada", "lovelace")
        );
        assert_eq!(
            lookup(&store, "http://api.example.com:8080/"),
            pair("ada", "lovelace")
        );
        assert_eq!(
            lookup(&store, "https://files.example.com/"),
            pair("grace h", "with \"quotes\" and \\")
        );
        // The macro's body is skipped, and the default answers the rest.
        assert_eq!(
            lookup(&store, "http://not.a.machine/"),
            pair("anonymous", "guest@")
        );
        assert!(store
            .lookup(&Origin::of(&"http://x/".parse().unwrap()).unwrap())
            .unwrap()
            .allows_basic());
    }

    /// Only a line's first word starts a comment: a `#` inside a line belongs to its word.
    #[test]
    fn a_hash_within_a_line_is_part_of_a_word() {
        let store = parse(concat!(
            "#machine commented.example login no password no\n",
            "machine h login #user password #hash\n",
            "\t# comment\n",
            "machine g login u password pass#word # not a comment\n",
        ));
        // `#`, `not`, `a`, `comment` are words: the last line is an error, as in curl.
        assert_eq!(
            store.unwrap_err().to_string(),
            "line 4 of .netrc: unexpected word (expected machine, default, login, password, account or macdef)"
        );
        let store = parse("machine h login #user password #hash\n# machine x\n").unwrap();
        assert_eq!(lookup(&store, "http://h/"), pair("#user", "#hash"));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn one_line_files_and_missing_values() {
        let store = parse("machine h login u").unwrap();
        assert_eq!(lookup(&store, "http://h/"), pair("u", ""));
        assert!(parse("").unwrap().is_empty());
        assert!(parse("\n# only a comment\n").unwrap().is_empty());
        assert_eq!(
            lookup(&parse("machine h").unwrap(), "http://h/"),
            pair("", "")
        );
        assert_eq!(lookup(&parse("machine h").unwrap(), "http://other/"), None);
    }

    #[test]
    fn errors_name_the_line_and_never_the_words() {
        for (text, expected) in [
            ("login ada", "line 1 of .netrc: `login` before any `machine` or `default`"),
            ("machine h login u\n\npassword", "line 3 of .netrc: `password` without a value"),
            ("machine", "line 1 of .netrc: `machine` without a value"),
            (
                "machine h login u password my secret\n",
                "line 1 of .netrc: unexpected word (expected machine, default, login, password, account or macdef)",
            ),
            ("machine h\nlogin u password \"open", "line 2 of .netrc: a quoted word is not closed"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.to_string(), expected, "{text:?}");
            assert!(!err.to_string().contains("secret"));
        }
        let err = parse("\n\nbogus").unwrap_err();
        assert_eq!(err.line(), Some(3));
    }

    #[test]
    fn files_are_named_in_errors() {
        let dir = std::env::temp_dir().join(format!("courier-netrc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("netrc");
        std::fs::write(&path, "machine h\nlogin").unwrap();
        let err = load_from(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("line 2 of {}: `login` without a value", path.display())
        );
        let missing = load_from(&dir.join("missing")).unwrap_err();
        assert!(
            missing
                .to_string()
                .ends_with("missing: cannot read the file"),
            "{missing}"
        );
        assert!(std::error::Error::source(&missing).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
