//! The TCP connection below the HTTP dispatcher, so that every answer has a JSON body.
//!
//! actix-http answers a request it cannot parse (a URL over 64 KiB, a head over 128 KiB or with
//! more than 96 fields, bytes that are not HTTP/1.1) or whose head does not arrive in time with a
//! bare status and an empty body, before any middleware runs, and has no hook to change that.
//! Every other error says in JSON what was wrong, and clients and contract tests rely on it, so
//! this layer rewrites those answers as they are written. It only touches a write that is
//! exactly such an answer: a head of status 400, 408 or 431 with `content-length: 0`, `date`
//! and perhaps `connection: close`, and nothing else, which no response of the application has
//! (they all carry a request id and a body). The dispatcher closes the connection after one, so
//! nothing follows it. A request pipelined behind another one may still get the bare answer,
//! when the dispatcher writes it in one buffer with the answer before it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::plain_body;
use super::middleware::MAX_URI_BYTES;
use crate::error::Error;

/// The longest request target actix-http parses (the `http` crate's limit).
const PARSED_URI_BYTES: usize = u16::MAX as usize - 1;

/// Longer than any head the dispatcher makes for a refused request.
const MAX_DISPATCHER_HEAD: usize = 256;

/// A connection whose dispatcher-made error answers get a JSON body.
pub struct Connection<T = TcpStream> {
    io: T,
    header_timeout: Duration,
    /// The current request's first line: a request the dispatcher refuses with a long one had
    /// a URL too long to parse.
    first_line: FirstLine,
    /// The rewritten answer and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> Connection<T> {
    pub fn new(io: T, header_timeout: Duration) -> Self {
        Connection {
            io,
            header_timeout,
            first_line: FirstLine::Reading(0),
            pending: None,
        }
    }

    /// The JSON answer for a dispatcher-made `head`, or `None` for any other write.
    fn rewrite(&self, head: &[u8]) -> Option<Vec<u8>> {
        let (status, date) = dispatcher_error(head)?;
        let error = match status {
            408 => Error::RequestTimeout {
                seconds: self.header_timeout.as_secs_f64(),
            },
            431 => Error::HeadTooLarge,
            _ if self.first_line_too_long() => Error::UriTooLong { max: MAX_URI_BYTES },
            _ => Error::MalformedRequest,
        };
        let (status, body) = plain_body(&error);
        let mut answer = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\nx-content-type-options: nosniff\r\ndate: {date}\r\n\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(&body);
        Some(answer)
    }

    fn saw_read(&mut self, bytes: &[u8]) {
        if let FirstLine::Reading(n) = self.first_line {
            self.first_line = match memchr::memchr(b'\n', bytes) {
                Some(end) => FirstLine::Ended {
                    long: n + end > PARSED_URI_BYTES,
                },
                None => FirstLine::Reading(n.saturating_add(bytes.len())),
            };
        }
    }

    fn first_line_too_long(&self) -> bool {
        match self.first_line {
            FirstLine::Reading(n) => n > PARSED_URI_BYTES,
            FirstLine::Ended { long } => long,
        }
    }
}

/// How much of the first line of the request being read has arrived.
#[derive(Debug, Clone, Copy)]
enum FirstLine {
    Reading(usize),
    Ended { long: bool },
}

/// The status and `date` of a head the dispatcher made for a request it refused.
fn dispatcher_error(head: &[u8]) -> Option<(u16, &str)> {
    // Every write of every response passes here: refuse anything but a short head by its
    // bytes before looking closer (the dispatcher's are under 150 bytes).
    if head.len() > MAX_DISPATCHER_HEAD || !head.starts_with(b"HTTP/1.") {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?;
    let status = match status {
        "400" => 400,
        "408" => 408,
        "431" => 431,
        _ => return None,
    };
    let (mut length, mut close, mut date) = (false, false, None);
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match (name.to_ascii_lowercase().as_str(), value) {
            ("content-length", "0") if !length => length = true,
            ("connection", "close") if !close => close = true,
            ("date", value) if date.is_none() => date = Some(value),
            _ => return None,
        }
    }
    length.then_some((status, date?))
}

impl<T: AsyncRead + Unpin> AsyncRead for Connection<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            self.saw_read(&buf.filled()[before..]);
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> Connection<T> {
    /// Writes what is left of a rewritten answer; ready when nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((answer, written)) = &mut self.pending {
            if *written == answer.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.io).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Connection<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.poll_pending(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(answer) = this.rewrite(buf) {
            this.pending = Some((answer, 0));
            // The dispatcher's bytes count as written: the answer replaces them, and the
            // flush and shutdown that follow write it out.
            return match this.poll_pending(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        this.first_line = FirstLine::Reading(0);
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Fri, 04 Dec 2026 23:11:26 GMT";

    #[test]
    fn only_the_dispatchers_bare_answers_are_rewritten() {
        let bare = |status: &str, close: bool| {
            let close = if close { "connection: close\r\n" } else { "" };
            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n{close}date: {DATE}\r\n\r\n")
        };
        for status in [
            "400 Bad Request",
            "408 Request Timeout",
            "431 Request Header",
        ] {
            for close in [true, false] {
                let head = bare(status, close);
                let (code, date) = dispatcher_error(head.as_bytes()).unwrap();
                assert_eq!(code.to_string(), status[..3]);
                assert_eq!(date, DATE);
            }
        }
        for other in [
            bare("404 Not Found", true),
            bare("500 Internal Server Error", true),
            // An answer of the application: a request id, a body.
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: 1\r\ndate: {DATE}\r\n\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\ndate: {DATE}\r\n\r\n"),
            // Not one whole head.
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: {DATE}\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n{{}}"),
        ] {
            assert!(dispatcher_error(other.as_bytes()).is_none(), "{other}");
        }
    }

    #[test]
    fn a_long_first_line_makes_a_bare_400_a_414() {
        let head = format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n");
        let mut connection = Connection::new((), Duration::from_secs(5));
        connection.saw_read(b"GET /");
        let part = vec![b'a'; 40_000];
        connection.saw_read(&part);
        connection.saw_read(&part);
        let answer = String::from_utf8(connection.rewrite(head.as_bytes()).unwrap()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with(
            r#""code":"UriTooLong","description":"the URL is longer than 16384 bytes"}"#
        ));

        let mut connection = Connection::new((), Duration::from_secs(5));
        connection.saw_read(b"GARBAGE\r\n\r\n");
        let answer = String::from_utf8(connection.rewrite(head.as_bytes()).unwrap()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        let length = answer.split("content-length: ").nth(1).unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        assert!(length.starts_with(&format!("{}\r\n", body.len())));
        assert!(body.contains(r#""code":"BadRequest""#));
    }
}
