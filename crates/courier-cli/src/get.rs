//! `courier get`: one request, the body streamed to stdout or a file.

use std::process::ExitCode;

use courier::cache::Cache;
use courier::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use courier::redirect::Policy;
use courier::{Client, Method, Response, Version};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::{CliError, GetArgs};

/// curl's exit status for an HTTP error with `--fail`.
const HTTP_ERROR_EXIT: u8 = 22;

pub(crate) async fn run(args: GetArgs) -> Result<ExitCode, CliError> {
    let follow = args.location || args.max_redirects.is_some();
    let policy = if follow {
        Policy::limited(args.max_redirects.unwrap_or(10))
    } else {
        Policy::none()
    };
    let mut builder = Client::builder().redirect(policy).netrc(args.netrc);
    if let Some(dir) = &args.cache {
        builder = builder.cache(Cache::on_disk(dir)?);
    }
    if !args.compressed {
        // Like curl: without --compressed, ask for no coding and show the bytes as sent.
        builder = builder.no_decompression();
    }
    let client = builder.build()?;

    let method = match &args.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("invalid method {method:?}"))?,
        None if args.data.is_some() || args.json.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut request = client.request(method, args.url.as_str());
    let mut has_content_type = false;
    let mut has_accept = false;
    for header in &args.headers {
        let (name, value) = parse_header(header)?;
        has_content_type |= name == CONTENT_TYPE;
        has_accept |= name == ACCEPT;
        request = request.header(name, value);
    }
    if let Some(data) = &args.data {
        let body = match data.strip_prefix('@') {
            Some("-") => read_stdin().await?,
            Some(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("cannot read {path}: {e}"))?,
            None => data.clone().into_bytes(),
        };
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
        request = request.body(json.clone());
    }

    let response = request.send().await?;
    let status = response.status();
    if args.fail && (status.is_client_error() || status.is_server_error()) {
        eprintln!(
            "courier: the server answered {status} for {}",
            response.url()
        );
        return Ok(ExitCode::from(HTTP_ERROR_EXIT));
    }
    match &args.output {
        Some(path) => {
            let mut file = tokio::fs::File::create(path)
                .await
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            write_response(response, args.include, &mut file).await?;
        }
        None => write_response(response, args.include, &mut tokio::io::stdout()).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `Name: value` (the value may be empty).
fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), CliError> {
    let invalid = || format!("invalid header {text:?}: expected 'Name: value'");
    let (name, value) = text.split_once(':').ok_or_else(invalid)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| invalid())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| invalid())?;
    Ok((name, value))
}

async fn read_stdin() -> Result<Vec<u8>, CliError> {
    use tokio::io::AsyncReadExt;
    let mut body = Vec::new();
    tokio::io::stdin().read_to_end(&mut body).await?;
    Ok(body)
}

/// Writes the head (with `-i`) and streams the body chunk by chunk.
async fn write_response<W>(
    mut response: Response,
    include: bool,
    out: &mut W,
) -> Result<(), CliError>
where
    W: AsyncWrite + Unpin,
{
    if include {
        let version = match response.version() {
            Version::HTTP_09 => "HTTP/0.9",
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_2 => "HTTP/2",
            Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        };
        let mut head = format!(
            "{version} {} {}\r\n",
            response.status().as_str(),
            response.reason()
        )
        .into_bytes();
        for (name, value) in response.headers() {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        out.write_all(&head).await?;
    }
    while let Some(chunk) = response.chunk().await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse() {
        let (name, value) = parse_header("X-Token:  abc ").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("x-token", "abc"));
        let (name, value) = parse_header("X-Empty:").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("x-empty", ""));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert!(parse_header("x: line\nbreak").is_err());
    }
}
