//! HTTP/1.1 responses, read incrementally: the head (status line and headers, with `httparse`;
//! 1xx interim responses skipped) and the body as a stream of pieces, framed by `Content-Length`,
//! `Transfer-Encoding: chunked` (hex sizes, extensions, trailers) or the end of the connection.
//! Pure functions over bytes: no I/O, no allocation per byte, and every malformed or cut input is
//! an error message, never a panic.

/// Most headers a response head may have.
const MAX_HEADERS: usize = 100;
/// Longest chunk extension accepted (after a chunk size), in bytes.
const MAX_CHUNK_EXTENSION: usize = 4096;
/// Most bytes of trailers accepted after the last chunk.
const MAX_TRAILERS: usize = 64 * 1024;

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `Content-Length` bytes (0 for 204 and 304).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// A response head: what the client needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    /// The status code.
    pub(super) status: u16,
    /// The `Content-Length`, when announced (and not overridden by a transfer coding).
    pub(super) content_length: Option<u64>,
    /// How the body ends.
    pub(super) framing: Framing,
    /// Whether the connection may carry another request once the body is read: HTTP/1.1
    /// without `Connection: close`, and a body that ends by its own framing.
    pub(super) reusable: bool,
}

/// Parses the response head at the start of `buf`, skipping 1xx interim responses: `Ok(None)`
/// while incomplete, else the bytes it took (interim responses included) and the head.
pub(super) fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, String> {
    let mut start = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let rest = buf.get(start..).unwrap_or_default();
        let taken = match response.parse(rest) {
            Ok(httparse::Status::Partial) => return Ok(None),
            Ok(httparse::Status::Complete(taken)) => taken,
            Err(e) => return Err(format!("malformed HTTP response head: {e}")),
        };
        let status = response.code.unwrap_or(0);
        if status == 101 {
            return Err("unexpected HTTP 101 Switching Protocols".into());
        }
        if (100..200).contains(&status) {
            start += taken;
            continue;
        }
        return head(&response, status).map(|head| Some((start + taken, head)));
    }
}

/// The head of a final response.
fn head(response: &httparse::Response<'_, '_>, status: u16) -> Result<Head, String> {
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding: Option<bool> = None; // Some(whether chunked is the last coding)
    let mut close = response.version != Some(1);
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).map_err(|_| format!("malformed HTTP response head: header {} is not text", header.name))?;
        if header.name.eq_ignore_ascii_case("content-length") {
            for item in value.split(',') {
                let item = item.trim();
                let len = (!item.is_empty() && item.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| item.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| format!("malformed HTTP response head: Content-Length {value:?}"))?;
                if content_length.is_some_and(|known| known != len) {
                    return Err(format!("malformed HTTP response head: conflicting Content-Length {value:?}"));
                }
                content_length = Some(len);
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.split(',').map(str::trim).rfind(|c| !c.is_empty()).unwrap_or_default();
            transfer_encoding = Some(last.eq_ignore_ascii_case("chunked"));
        } else if header.name.eq_ignore_ascii_case("connection") {
            close |= value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close"));
        }
    }
    let (framing, content_length) = match (status, transfer_encoding, content_length) {
        (204 | 304, _, _) => (Framing::Length(0), None),
        // Both: the transfer coding wins, and the connection is not trusted afterwards.
        (_, Some(chunked), Some(_)) => {
            close = true;
            (if chunked { Framing::Chunked } else { Framing::Close }, None)
        }
        (_, Some(true), None) => (Framing::Chunked, None),
        (_, Some(false), None) => (Framing::Close, None),
        (_, None, Some(len)) => (Framing::Length(len), Some(len)),
        (_, None, None) => (Framing::Close, None),
    };
    Ok(Head { status, content_length, framing, reusable: !close && framing != Framing::Close })
}

/// Why a body could not be read: the bytes were wrong, or the consumer of the data failed.
#[derive(Debug)]
pub(super) enum BodyError<E> {
    /// Malformed framing (a bad chunk size, a missing CRLF, oversized extensions or trailers).
    Malformed(String),
    /// The data callback failed.
    Sink(E),
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Reading the hex digits of a chunk size.
    Size { size: u64, digits: u8 },
    /// After the size: optional whitespace and `;extensions`, to the end of the line.
    SizeLine { size: u64, extension: Option<usize> },
    /// Inside a chunk's data.
    Data { left: u64 },
    /// The CRLF after a chunk's data (`seen_cr` once the CR is read).
    DataEnd { seen_cr: bool },
    /// Trailer lines after the last chunk, to the empty line.
    Trailers { line: usize, total: usize },
    /// The empty line after the trailers was read.
    Done,
}

/// A body being read: hands its data on piece by piece, without copying or holding any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Body {
    /// `Content-Length` bytes, `left` of them still to come.
    Length { left: u64, total: u64 },
    /// A chunked body.
    Chunked(Chunk),
    /// Until the end of the connection.
    Close,
}

impl Body {
    /// The body of a response with this framing.
    pub(super) fn new(framing: Framing) -> Body {
        match framing {
            Framing::Length(total) => Body::Length { left: total, total },
            Framing::Chunked => Body::Chunked(Chunk::Size { size: 0, digits: 0 }),
            Framing::Close => Body::Close,
        }
    }

    /// Whether the whole body was read (never, for a body ending with the connection).
    pub(super) fn is_done(&self) -> bool {
        matches!(self, Body::Length { left: 0, .. } | Body::Chunked(Chunk::Done))
    }

    /// The connection ended: fine for a body read to its end or ending with the connection,
    /// else the body was cut short.
    pub(super) fn finish(&self) -> Result<(), String> {
        match self {
            Body::Length { left: 0, .. } | Body::Chunked(Chunk::Done) | Body::Close => Ok(()),
            Body::Length { left, total } => Err(format!("the body was cut short: {} of {total} bytes received", total - left)),
            Body::Chunked(_) => Err("the body was cut short: the connection ended before the last chunk".into()),
        }
    }

    /// Reads the body's part of `input`, handing its data to `data`; returns how many bytes of
    /// `input` belong to the body (less than all only once the body is done).
    pub(super) fn feed<E>(&mut self, input: &[u8], data: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<usize, BodyError<E>> {
        match self {
            Body::Close => {
                if !input.is_empty() {
                    data(input).map_err(BodyError::Sink)?;
                }
                Ok(input.len())
            }
            Body::Length { left, .. } => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(input.len());
                if take > 0 {
                    data(&input[..take]).map_err(BodyError::Sink)?;
                }
                *left -= take as u64;
                Ok(take)
            }
            Body::Chunked(state) => feed_chunked(state, input, data),
        }
    }
}

/// [`Body::feed`] for a chunked body.
fn feed_chunked<E>(state: &mut Chunk, input: &[u8], data: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<usize, BodyError<E>> {
    let mut at = 0;
    while at < input.len() {
        match state {
            Chunk::Done => return Ok(at),
            Chunk::Data { left } => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(input.len() - at);
                data(&input[at..at + take]).map_err(BodyError::Sink)?;
                at += take;
                *left -= take as u64;
                if *left == 0 {
                    *state = Chunk::DataEnd { seen_cr: false };
                }
            }
            _ => {
                *state = step(*state, input[at]).map_err(|e| BodyError::Malformed(format!("malformed chunked body: {e}")))?;
                at += 1;
            }
        }
    }
    Ok(at)
}

/// The state of a chunked body's framing after one more byte of it (outside chunk data).
fn step(state: Chunk, byte: u8) -> Result<Chunk, &'static str> {
    Ok(match state {
        Chunk::Data { .. } | Chunk::Done => state,
        Chunk::Size { size, digits } => match (byte as char).to_digit(16) {
            Some(_) if digits >= 15 => return Err("chunk size too large"),
            Some(digit) => Chunk::Size { size: size << 4 | u64::from(digit), digits: digits + 1 },
            None if digits == 0 => return Err("bad chunk size"),
            // The size line goes on with this byte.
            None => return step(Chunk::SizeLine { size, extension: None }, byte),
        },
        Chunk::SizeLine { size, extension } => match (byte, extension) {
            (b'\n', _) if size == 0 => Chunk::Trailers { line: 0, total: 0 },
            (b'\n', _) => Chunk::Data { left: size },
            (b'\r' | b' ' | b'\t', None) => state,
            (b';', None) => Chunk::SizeLine { size, extension: Some(0) },
            (_, None) => return Err("bad chunk size"),
            (_, Some(len)) if len >= MAX_CHUNK_EXTENSION => return Err("chunk extension too long"),
            (_, Some(len)) => Chunk::SizeLine { size, extension: Some(len + 1) },
        },
        Chunk::DataEnd { seen_cr } => match byte {
            b'\r' if !seen_cr => Chunk::DataEnd { seen_cr: true },
            b'\n' => Chunk::Size { size: 0, digits: 0 },
            _ => return Err("no line end after a chunk's data"),
        },
        Chunk::Trailers { line, total } => match byte {
            b'\n' if line == 0 => Chunk::Done,
            b'\n' => Chunk::Trailers { line: 0, total },
            b'\r' => state,
            _ if total >= MAX_TRAILERS => return Err("trailers too long"),
            _ => Chunk::Trailers { line: line + 1, total: total + 1 },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What reading a response gave: status, body, whether the connection may be reused.
    type Read = Result<(u16, Vec<u8>, bool), String>;

    /// Reads a response arriving in `pieces` the way the client does: the head accumulated in a
    /// buffer of at most `limit` bytes, then the body fed piece by piece, then the end of the
    /// connection.
    fn read(pieces: &[&[u8]], limit: usize) -> Read {
        let mut queue: std::collections::VecDeque<&[u8]> = pieces.iter().copied().collect();
        let mut buf = Vec::new();
        let (head, mut body, mut out, mut extra) = loop {
            if let Some((taken, head)) = parse_head(&buf)? {
                let mut body = Body::new(head.framing);
                let mut out = Vec::new();
                let used = feed(&mut body, &buf[taken..], &mut out)?;
                break (head, body, out, buf.len() - taken - used);
            }
            if buf.len() >= limit {
                return Err("head too large".into());
            }
            let Some(piece) = queue.pop_front() else { return Err("cut before the head".into()) };
            let room = (limit - buf.len()).min(piece.len());
            buf.extend_from_slice(&piece[..room]);
            if room < piece.len() {
                queue.push_front(&piece[room..]);
            }
        };
        for piece in queue {
            if body.is_done() {
                extra += piece.len();
                continue;
            }
            let used = feed(&mut body, piece, &mut out)?;
            extra += piece.len() - used;
        }
        if !body.is_done() {
            body.finish()?;
        }
        Ok((head.status, out, head.reusable && body.is_done() && extra == 0))
    }

    fn feed(body: &mut Body, input: &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
        body.feed(input, &mut |d: &[u8]| -> Result<(), ()> {
            out.extend_from_slice(d);
            Ok(())
        })
        .map_err(|e| match e {
            BodyError::Malformed(m) => m,
            BodyError::Sink(()) => "sink".into(),
        })
    }

    fn whole(response: &[u8]) -> Read {
        read(&[response], 64 * 1024)
    }

    fn every_split(response: &[u8]) -> Read {
        let expected = whole(response);
        let bytes: Vec<&[u8]> = response.chunks(1).collect();
        assert_eq!(read(&bytes, 64 * 1024), expected, "byte by byte");
        for at in 0..=response.len() {
            assert_eq!(read(&[&response[..at], &response[at..]], 64 * 1024), expected, "split at {at}");
        }
        expected
    }

    #[test]
    fn content_length_bodies() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
        assert_eq!(every_split(r), Ok((200, b"hello".to_vec(), true)));
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello";
        assert_eq!(every_split(cut), Err("the body was cut short: 5 of 9 bytes received".into()));
        let empty = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(every_split(empty), Ok((200, vec![], true)));
        // Extra bytes after the body: the answer stands, the connection is not reused.
        assert_eq!(every_split(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX"), Ok((200, b"hi".to_vec(), false)));
        assert!(whole(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nhi").is_err());
        assert!(whole(b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nhi").is_err());
        assert!(whole(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhi").is_err());
        assert_eq!(whole(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhi"), Ok((200, b"hi".to_vec(), true)));
    }

    #[test]
    fn chunked_bodies() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1A;name=\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert_eq!(every_split(r), Ok((200, b"helloabcdefghijklmnopqrstuvwxyz".to_vec(), true)));
        let padded = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0000002 \r\nhi\r\n0\r\n\r\n";
        assert_eq!(every_split(padded), Ok((200, b"hi".to_vec(), true)));
        let bare_lf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nhi\n0\n\n";
        assert_eq!(every_split(bare_lf), Ok((200, b"hi".to_vec(), true)));
        for bad in [&b"zz\r\n"[..], b"\r\n", b"2\r\nhiX\r\n0\r\n\r\n", b"12345678901234567\r\n", b"2x\r\nhi\r\n0\r\n\r\n"] {
            let r = [&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..], bad].concat();
            let got = every_split(&r);
            assert!(got.as_ref().is_err_and(|e| e.starts_with("malformed chunked body")), "{:?}: {got:?}", String::from_utf8_lossy(bad));
        }
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert_eq!(every_split(cut), Err("the body was cut short: the connection ended before the last chunk".into()));
        // Both framings: chunked wins, and the connection is not trusted afterwards.
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        assert_eq!(every_split(both), Ok((200, b"hi".to_vec(), false)));
    }

    #[test]
    fn until_close_interim_and_errors() {
        assert_eq!(every_split(b"HTTP/1.1 200 OK\r\n\r\nall of it"), Ok((200, b"all of it".to_vec(), false)));
        assert_eq!(every_split(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"), Ok((200, b"hi".to_vec(), false)));
        assert_eq!(every_split(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nhi"), Ok((200, b"hi".to_vec(), false)));
        let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nno\n";
        assert_eq!(every_split(interim), Ok((401, b"no\n".to_vec(), true)));
        assert_eq!(every_split(b"HTTP/1.1 204 No Content\r\n\r\n"), Ok((204, vec![], true)));
        assert!(every_split(b"\x15\x03\x03\x00\x02\x02\x46").is_err());
        assert!(every_split(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").is_err());
        assert_eq!(every_split(b"HTTP/1.1 200 OK\r\nContent-Le"), Err("cut before the head".into()));
        let many: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
        assert!(whole(format!("HTTP/1.1 200 OK\r\n{many}\r\n").as_bytes()).is_err_and(|e| e.contains("too many headers")), "too many headers");
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "y".repeat(70_000));
        assert_eq!(whole(long.as_bytes()), Err("head too large".into()));
    }

    /// A valid response of each framing, with `body` as its body.
    fn framed(body: &[u8], framing: u8, splits: &[prop::sample::Index]) -> Vec<u8> {
        match framing % 3 {
            0 => [format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(), body].concat(),
            1 => {
                let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                let mut at: Vec<usize> = splits.iter().map(|s| s.index(body.len() + 1)).collect();
                at.extend([0, body.len()]);
                at.sort_unstable();
                for w in at.windows(2).filter(|w| w[1] > w[0]) {
                    out.extend_from_slice(format!("{:x};ext=1\r\n", w[1] - w[0]).as_bytes());
                    out.extend_from_slice(&body[w[0]..w[1]]);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\nTrailer: x\r\n\r\n");
                out
            }
            _ => [&b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"[..], body].concat(),
        }
    }

    fn pieces<'a>(bytes: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        at.extend([0, bytes.len()]);
        at.sort_unstable();
        at.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
    }

    proptest! {
        #[test]
        fn valid_responses_read_the_same_in_any_pieces(
            body in prop::collection::vec(any::<u8>(), 0..3000),
            framing in any::<u8>(),
            chunks in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let response = framed(&body, framing, &chunks);
            let got = read(&pieces(&response, &cuts), 64 * 1024);
            prop_assert_eq!(got, Ok((200, body, framing % 3 != 2)));
        }

        #[test]
        fn mutated_or_cut_responses_never_panic_and_agree_in_pieces(
            body in prop::collection::vec(any::<u8>(), 0..600),
            framing in any::<u8>(),
            chunks in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in prop::option::of(any::<prop::sample::Index>()),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            limit in 40usize..2000,
        ) {
            let mut response = framed(&body, framing, &chunks);
            for (at, byte) in &flips {
                let i = at.index(response.len());
                response[i] = *byte;
            }
            if let Some(cut) = cut {
                response.truncate(cut.index(response.len() + 1));
            }
            let expected = read(&[&response], limit);
            prop_assert_eq!(read(&pieces(&response, &cuts), limit), expected.clone());
            let bytes: Vec<&[u8]> = response.chunks(1).collect();
            prop_assert_eq!(read(&bytes, limit), expected);
        }
    }
}
