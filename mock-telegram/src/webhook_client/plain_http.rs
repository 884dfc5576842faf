//! A minimal HTTP/1.1 client for plain-http webhook POSTs: one write per request, the answer
//! read and parsed in the same future (no connection task, no channels), keep-alive
//! connections pooled per endpoint. Answers with Content-Length, chunked bodies, or a body
//! up to the connection's close are understood.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{PostError, Reply};

/// The largest answer head read.
const MAX_HEAD_BYTES: usize = 64 << 10;

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Idle keep-alive connections by `host:port`.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    max_idle: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

/// What reading an answer found.
enum Read {
    Answer(Reply, bool),
    /// The connection closed before any byte of an answer: the request was not taken.
    ClosedUnanswered,
}

impl Pool {
    pub fn new(max_idle: usize) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            max_idle,
        }
    }

    /// POSTs `head` + `body` to `authority`, reusing an idle connection when there is one.
    pub async fn post(
        &self,
        authority: &str,
        head: &[u8],
        body: &[u8],
        max_body: usize,
    ) -> Result<Reply, PostError> {
        while let Some(mut conn) = self.checkout(authority) {
            match exchange(&mut conn, head, body, max_body).await {
                Ok(Read::Answer(answer, keep)) => {
                    if keep {
                        self.checkin(authority, conn);
                    }
                    return Ok(answer);
                }
                // Closed by the bot while idle: try the next one, or a new connection.
                Ok(Read::ClosedUnanswered) | Err(_) => continue,
            }
        }
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => PostError::Refused,
                _ => PostError::Broken,
            })?;
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            buf: Vec::with_capacity(1024),
        };
        match exchange(&mut conn, head, body, max_body).await {
            Ok(Read::Answer(answer, keep)) => {
                if keep {
                    self.checkin(authority, conn);
                }
                Ok(answer)
            }
            Ok(Read::ClosedUnanswered) | Err(_) => Err(PostError::Broken),
        }
    }

    fn checkout(&self, authority: &str) -> Option<Conn> {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(authority)?
            .pop()
    }

    fn checkin(&self, authority: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = match idle.get_mut(authority) {
            Some(list) => list,
            None => idle.entry(authority.to_string()).or_default(),
        };
        if list.len() < self.max_idle {
            list.push(conn);
        }
    }
}

/// Writes the request and reads the answer.
async fn exchange(
    conn: &mut Conn,
    head: &[u8],
    body: &[u8],
    max_body: usize,
) -> std::io::Result<Read> {
    let mut request = Vec::with_capacity(head.len() + body.len());
    request.extend_from_slice(head);
    request.extend_from_slice(body);
    conn.stream.write_all(&request).await?;
    conn.buf.clear();
    let head_end = loop {
        if let Some(i) = find(&conn.buf, b"\r\n\r\n") {
            break i + 4;
        }
        if conn.buf.len() > MAX_HEAD_BYTES {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        if fill(conn).await? == 0 {
            return if conn.buf.is_empty() {
                Ok(Read::ClosedUnanswered)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
    };
    let head = parse_head(&conn.buf[..head_end]).ok_or(std::io::ErrorKind::InvalidData)?;
    conn.buf.drain(..head_end);
    let (body, complete) = match head.framing {
        Framing::Length(n) => read_length(conn, n, max_body).await?,
        Framing::Chunked => read_chunked(conn, max_body).await?,
        Framing::UntilClose => {
            while fill(conn).await? > 0 {
                if conn.buf.len() > max_body {
                    break;
                }
            }
            (
                Some(Bytes::from(std::mem::take(&mut conn.buf))).filter(|b| b.len() <= max_body),
                false,
            )
        }
    };
    let keep = complete && head.keep_alive && conn.buf.is_empty();
    Ok(Read::Answer(
        Reply {
            status: head.status,
            retry_after: head.retry_after,
            body,
        },
        keep,
    ))
}

async fn fill(conn: &mut Conn) -> std::io::Result<usize> {
    conn.buf.reserve(4096);
    conn.stream.read_buf(&mut conn.buf).await
}

async fn read_length(
    conn: &mut Conn,
    n: usize,
    max_body: usize,
) -> std::io::Result<(Option<Bytes>, bool)> {
    if n > max_body {
        return Ok((None, false));
    }
    while conn.buf.len() < n {
        if fill(conn).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    let body = Bytes::copy_from_slice(&conn.buf[..n]);
    conn.buf.drain(..n);
    Ok((Some(body), true))
}

async fn read_chunked(conn: &mut Conn, max_body: usize) -> std::io::Result<(Option<Bytes>, bool)> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&conn.buf, b"\r\n") {
                break i;
            }
            if fill(conn).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        };
        let size_text = std::str::from_utf8(&conn.buf[..line_end]).unwrap_or("");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
        conn.buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers, then the final CRLF.
            loop {
                if let Some(i) = find(&conn.buf, b"\r\n") {
                    conn.buf.drain(..i + 2);
                    if i == 0 {
                        return Ok((Some(Bytes::from(body)), true));
                    }
                } else if fill(conn).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
        }
        if body.len() + size > max_body {
            return Ok((None, false));
        }
        while conn.buf.len() < size + 2 {
            if fill(conn).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        body.extend_from_slice(&conn.buf[..size]);
        conn.buf.drain(..size + 2);
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

struct Head {
    status: StatusCode,
    retry_after: Option<Duration>,
    framing: Framing,
    keep_alive: bool,
}

fn parse_head(bytes: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    let status = StatusCode::from_u16(parts.next()?.parse().ok()?).ok()?;
    let mut head = Head {
        status,
        retry_after: None,
        framing: Framing::UntilClose,
        keep_alive: version == "HTTP/1.1",
    };
    let mut length = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().contains("chunked") {
                head.framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                head.keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                head.keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case("retry-after") {
            head.retry_after = value.parse().ok().map(Duration::from_secs);
        }
    }
    if !matches!(head.framing, Framing::Chunked) {
        if let Some(n) = length {
            head.framing = Framing::Length(n);
        } else if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            head.framing = Framing::Length(0);
        }
    }
    if matches!(head.framing, Framing::UntilClose) {
        head.keep_alive = false;
    }
    Some(head)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_with_their_framing() {
        let h = parse_head(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (h.status.as_u16(), h.retry_after, h.keep_alive),
            (429, Some(Duration::from_secs(3)), true)
        );
        assert!(matches!(h.framing, Framing::Length(5)));
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
        assert!(matches!(h.framing, Framing::Chunked) && !h.keep_alive);
        let h = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        assert!(matches!(h.framing, Framing::UntilClose) && !h.keep_alive);
        assert!(parse_head(b"garbage\r\n\r\n").is_none());
    }

    #[tokio::test]
    async fn chunked_and_length_bodies_over_a_real_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let answers: [&[u8]; 2] = [
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno",
            ];
            for answer in answers {
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(answer).await.unwrap();
            }
        });
        let pool = Pool::new(4);
        let head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
        let a = pool.post(&addr, head, b"{}", 1024).await.unwrap();
        assert_eq!(
            (a.status.as_u16(), a.body.as_deref()),
            (200, Some(&b"{\"a\":1}"[..]))
        );
        // The same (pooled) connection answers the second.
        let b = pool.post(&addr, head, b"{}", 1024).await.unwrap();
        assert_eq!(
            (b.status.as_u16(), b.body.as_deref()),
            (500, Some(&b"no"[..]))
        );
    }
}
