//! `-w/--write-out`: curl's `%{variable}` report after a transfer, fed by the response and the
//! timings the transport recorded for its connection.

use std::time::Duration;

use courier::Response;
use serde_json::{json, Map, Value};

/// What the report can tell, gathered when the response head arrived and completed after the body.
pub(crate) struct Facts {
    vars: Map<String, Value>,
}

impl Facts {
    /// The facts known at the response head; `head_after` is the time from sending to the head.
    pub(crate) fn of(response: &Response, head_after: Duration) -> Facts {
        let mut vars = Map::new();
        vars.insert("http_code".into(), json!(response.status().as_u16()));
        vars.insert("response_code".into(), json!(response.status().as_u16()));
        vars.insert("url_effective".into(), json!(response.url().as_str()));
        vars.insert("num_redirects".into(), json!(response.redirects().len()));
        // curl's form: `1.1`, `1.0`, `2`.
        let version = crate::get::version_text(response.version()).trim_start_matches("HTTP/");
        vars.insert("http_version".into(), json!(version));
        let content_type = response
            .headers()
            .get(courier::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        vars.insert("content_type".into(), json!(content_type));
        let remote = response.remote_addr();
        vars.insert(
            "remote_ip".into(),
            json!(remote.map(|a| a.ip().to_string()).unwrap_or_default()),
        );
        vars.insert(
            "remote_port".into(),
            json!(remote.map(|a| a.port()).unwrap_or(0)),
        );
        // curl's times are cumulative from the start of the whole transfer: lookup, then connect,
        // then TLS. The transport's timings are each phase's end from the start of the request that
        // got this response, the last of a redirect chain; that request began `before` into the
        // transfer (its first byte came `head_after` in), which is also curl's time_redirect. A
        // reused connection had no phases of its own (0, as curl reports).
        let timings = response.connection_info().map(|info| info.timings());
        let before = timings.map_or(Duration::ZERO, |t| {
            head_after.saturating_sub(t.first_byte())
        });
        let at = |phase: Option<Duration>| phase.map_or(Duration::ZERO, |d| before + d);
        let dns = at(timings.and_then(|t| t.dns()));
        let connect = at(timings.and_then(|t| t.connect()));
        let appconnect = at(timings.and_then(|t| t.tls()));
        vars.insert("time_namelookup".into(), json!(secs(dns)));
        vars.insert("time_connect".into(), json!(secs(connect)));
        vars.insert("time_appconnect".into(), json!(secs(appconnect)));
        vars.insert("time_starttransfer".into(), json!(secs(head_after)));
        let redirect = if response.redirects().is_empty() {
            Duration::ZERO
        } else {
            before
        };
        vars.insert("time_redirect".into(), json!(secs(redirect)));
        Facts { vars }
    }

    /// The facts when no response came for `url` (a connection that failed, a timeout):
    /// `http_code` 000.
    pub(crate) fn no_response(url: &str) -> Facts {
        let mut vars = Map::new();
        for name in ["http_code", "response_code", "num_redirects", "remote_port"] {
            vars.insert(name.into(), json!(0));
        }
        for name in [
            "time_namelookup",
            "time_connect",
            "time_appconnect",
            "time_starttransfer",
            "time_redirect",
        ] {
            vars.insert(name.into(), json!(0.0));
        }
        for name in ["http_version", "content_type", "remote_ip"] {
            vars.insert(name.into(), json!(""));
        }
        vars.insert("url_effective".into(), json!(url));
        Facts { vars }
    }

    /// Adds what the body told: its size, the total time and the speed.
    pub(crate) fn finish(mut self, size: u64, total: Duration) -> Facts {
        self.vars.insert("size_download".into(), json!(size));
        self.vars.insert("time_total".into(), json!(secs(total)));
        let speed = size as f64 / total.as_secs_f64().max(1e-9);
        self.vars
            .insert("speed_download".into(), json!(speed.round() as u64));
        self
    }

    /// `format` with `%{name}` replaced (an unknown name by nothing, as curl prints nothing for it;
    /// `%{json}` is every variable as one object), `\n`, `\r`, `\t` unescaped and `%%` as `%`.
    pub(crate) fn render(&self, format: &str) -> String {
        let mut out = String::with_capacity(format.len() + 32);
        let mut rest = format;
        while let Some(i) = rest.find(['%', '\\']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("%{") {
                if let Some(end) = after.find('}') {
                    let name = &after[..end];
                    match name {
                        "json" => out.push_str(&Value::Object(self.vars.clone()).to_string()),
                        // Three digits, as curl writes them: 000 when no response came.
                        "http_code" | "response_code" => {
                            if let Some(code) = self.vars.get(name).and_then(Value::as_u64) {
                                out.push_str(&format!("{code:03}"));
                            }
                        }
                        _ => match self.vars.get(name) {
                            Some(Value::String(s)) => out.push_str(s),
                            Some(Value::Number(n)) => match n.as_f64() {
                                Some(f) if n.is_f64() => out.push_str(&format!("{f:.6}")),
                                _ => out.push_str(&n.to_string()),
                            },
                            _ => {}
                        },
                    }
                    rest = &after[end + 1..];
                    continue;
                }
            }
            let (text, skip) = match tail.as_bytes().get(1) {
                Some(b'%') if tail.starts_with('%') => ("%", 2),
                Some(b'n') if tail.starts_with('\\') => ("\n", 2),
                Some(b'r') if tail.starts_with('\\') => ("\r", 2),
                Some(b't') if tail.starts_with('\\') => ("\t", 2),
                _ => (&tail[..1], 1),
            };
            out.push_str(text);
            rest = &tail[skip..];
        }
        out.push_str(rest);
        out
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let mut vars = Map::new();
        vars.insert("http_code".into(), json!(200));
        vars.insert("url_effective".into(), json!("http://127.0.0.1/x"));
        vars.insert("time_total".into(), json!(0.25));
        Facts { vars }
    }

    #[test]
    fn variables_escapes_and_unknowns() {
        let facts = facts();
        assert_eq!(facts.render("%{http_code}\\n"), "200\n");
        assert_eq!(
            facts.render("%{url_effective} took %{time_total}s, 100%% %{nope}"),
            "http://127.0.0.1/x took 0.250000s, 100% "
        );
        assert_eq!(facts.render("tail %"), "tail %");
        assert_eq!(facts.render("%{unclosed"), "%{unclosed");
        let json: Value = serde_json::from_str(&facts.render("%{json}")).unwrap();
        assert_eq!(json["http_code"], 200);
        let none = Facts::no_response("http://127.0.0.1:9/").finish(0, Duration::from_millis(500));
        assert_eq!(
            none.render(
                "%{http_code} %{response_code} %{size_download} %{time_connect} %{url_effective}"
            ),
            "000 000 0 0.000000 http://127.0.0.1:9/"
        );
    }
}
