//! Connections to kubelets: a `TcpStream`, with a `rustls::ClientConnection` driven by hand for
//! HTTPS; the idle connections kept between scrapes (one per kubelet, nothing but the socket and
//! the TLS state); and the read buffers, which belong to requests in flight, not to connections.

use rustls::ClientConnection;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Size of a request's plaintext buffer: the longest response head accepted, and the largest
/// piece of body read at once.
pub(super) const PLAIN_BUFFER: usize = 64 * 1024;
/// Size of a request's ciphertext buffer (HTTPS): two full TLS records per read.
const CIPHER_BUFFER: usize = 34 * 1024;
/// Request buffers kept for reuse; more requests in flight allocate their own.
const BUFFERS_KEPT: usize = 32;
/// How long an idle connection is kept.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often idle connections past [`IDLE_TIMEOUT`] are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// A connection to a kubelet.
#[derive(Debug)]
pub(super) struct Conn {
    tcp: TcpStream,
    /// The TLS state, for HTTPS; its own buffers are emptied between requests.
    tls: Option<Box<ClientConnection>>,
}

/// The buffers of one request: the plaintext read (the head, then pieces of the body), and, for
/// HTTPS, the ciphertext read from the socket and not yet handed to rustls.
#[derive(Debug)]
pub(super) struct Buffers {
    /// Plaintext, [`PLAIN_BUFFER`] bytes.
    pub(super) plain: Box<[u8]>,
    /// Ciphertext.
    pub(super) cipher: Cipher,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers { plain: vec![0; PLAIN_BUFFER].into_boxed_slice(), cipher: Cipher { buf: Box::default(), at: 0, end: 0 } }
    }
}

/// Ciphertext read from a socket, `at..end` of it not yet handed to rustls (allocated on first
/// use: plain HTTP needs none).
#[derive(Debug)]
pub(super) struct Cipher {
    buf: Box<[u8]>,
    at: usize,
    end: usize,
}

impl Cipher {
    /// Ciphertext read and not yet handed to rustls.
    fn pending(&self) -> &[u8] {
        self.buf.get(self.at..self.end).unwrap_or_default()
    }

    /// Reads ciphertext from `tcp` into the (drained) buffer; returns how much.
    async fn fill(&mut self, tcp: &mut TcpStream) -> io::Result<usize> {
        if self.buf.is_empty() {
            self.buf = vec![0; CIPHER_BUFFER].into_boxed_slice();
        }
        self.clear();
        let n = tcp.read(&mut self.buf).await?;
        self.end = n;
        Ok(n)
    }

    /// Hands pending ciphertext to rustls and processes it.
    fn feed(&mut self, tls: &mut ClientConnection) -> io::Result<()> {
        let taken = tls.read_tls(&mut self.pending())?;
        self.at += taken;
        tls.process_new_packets().map(drop).map_err(tls_error)
    }

    /// Forgets what was read.
    pub(super) fn clear(&mut self) {
        (self.at, self.end) = (0, 0);
    }

    /// Whether everything read was handed to rustls.
    pub(super) fn is_drained(&self) -> bool {
        self.at == self.end
    }
}

/// A rustls error as an I/O error (the classification finds it inside).
fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The buffers of requests no longer in flight.
#[derive(Debug, Default)]
pub(super) struct BufferPool {
    free: Mutex<Vec<Buffers>>,
}

impl BufferPool {
    /// Buffers for a request: reused, or new.
    pub(super) fn take(&self) -> Buffers {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_else(Buffers::new)
    }

    /// Gives a request's buffers back.
    pub(super) fn give(&self, mut buffers: Buffers) {
        buffers.cipher.clear();
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < BUFFERS_KEPT {
            free.push(buffers);
        }
    }
}

/// Writes everything rustls has to send.
async fn flush(tcp: &mut TcpStream, tls: &mut ClientConnection) -> io::Result<()> {
    let mut out = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut out)?;
    }
    if !out.is_empty() {
        tcp.write_all(&out).await?;
    }
    Ok(())
}

impl Conn {
    /// Opens a TCP connection to `address` (`host:port`, resolved by the system), with a TLS
    /// handshake when `tls` is given. Errors carry the phase they happened in.
    pub(super) async fn open(address: &str, tls: Option<ClientConnection>, cipher: &mut Cipher) -> Result<Conn, (&'static str, io::Error)> {
        // Nothing read from another connection (one found closed) is this one's.
        cipher.clear();
        let tcp = TcpStream::connect(address).await.map_err(|e| ("connect", e))?;
        tcp.set_nodelay(true).map_err(|e| ("connect", e))?;
        let mut conn = Conn { tcp, tls: tls.map(Box::new) };
        if let Some(tls) = conn.tls.as_deref_mut() {
            handshake(&mut conn.tcp, tls, cipher).await.map_err(|e| ("TLS handshake", e))?;
        }
        Ok(conn)
    }

    /// Sends `data`.
    pub(super) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self.tls.as_deref_mut() {
            None => self.tcp.write_all(data).await,
            Some(tls) => {
                tls.writer().write_all(data)?;
                flush(&mut self.tcp, tls).await
            }
        }
    }

    /// Reads plaintext into `out`; `Ok(0)` at the end of the connection.
    pub(super) async fn read(&mut self, cipher: &mut Cipher, out: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else { return self.tcp.read(out).await };
        loop {
            match tls.reader().read(out) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if cipher.is_drained() && cipher.fill(&mut self.tcp).await? == 0 {
                // The end of the connection: rustls tells a clean close (close_notify) from a cut.
                tls.read_tls(&mut io::empty())?;
                tls.process_new_packets().map_err(tls_error)?;
                continue;
            }
            let fed = cipher.feed(tls);
            if tls.wants_write() {
                // An answer to a key update, or the alert of a failure (sent as a courtesy).
                let flushed = flush(&mut self.tcp, tls).await;
                if fed.is_ok() {
                    flushed?;
                }
            }
            fed?;
        }
    }

    /// Whether nothing is left unread in the connection's TLS state (so it may carry another
    /// request). Shrinks rustls' record buffer back to its idle size on the way: it grows to
    /// hold whole records while reading, and is only shrunk on the next read.
    pub(super) fn is_clean(&mut self) -> bool {
        match self.tls.as_deref_mut() {
            None => true,
            Some(tls) => {
                // Nothing to read yet: rustls resizes its buffer, then finds nothing (and no end).
                let _ = tls.read_tls(&mut NothingYet);
                tls.process_new_packets().is_ok_and(|s| s.plaintext_bytes_to_read() == 0 && !s.peer_has_closed())
            }
        }
    }
}

/// A reader with nothing to read yet (not at its end).
struct NothingYet;

impl Read for NothingYet {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

/// Completes the TLS handshake.
async fn handshake(tcp: &mut TcpStream, tls: &mut ClientConnection, cipher: &mut Cipher) -> io::Result<()> {
    loop {
        flush(tcp, tls).await?;
        if !tls.is_handshaking() {
            return Ok(());
        }
        if cipher.is_drained() && cipher.fill(tcp).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the kubelet closed the connection during the TLS handshake"));
        }
        if let Err(e) = cipher.feed(tls) {
            // Send the alert saying why, as a courtesy.
            let _ = flush(tcp, tls).await;
            return Err(e);
        }
    }
}

/// The idle connections, at most one per kubelet address, each dropped after [`IDLE_TIMEOUT`].
#[derive(Debug)]
pub(super) struct IdlePool {
    inner: Mutex<Idle>,
}

#[derive(Debug)]
struct Idle {
    conns: HashMap<Box<str>, (Conn, Instant)>,
    swept: Instant,
}

impl Default for IdlePool {
    fn default() -> Self {
        IdlePool { inner: Mutex::new(Idle { conns: HashMap::new(), swept: Instant::now() }) }
    }
}

impl IdlePool {
    fn lock(&self) -> MutexGuard<'_, Idle> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The idle connection to `address`, if one is kept and not too old.
    pub(super) fn take(&self, address: &str) -> Option<Conn> {
        let (conn, since) = self.lock().conns.remove(address)?;
        (since.elapsed() <= IDLE_TIMEOUT).then_some(conn)
    }

    /// Keeps `conn` for the next request to `address` (replacing any other); drops the
    /// connections idle too long, now and then.
    pub(super) fn put(&self, address: &str, conn: Conn) {
        let now = Instant::now();
        let mut expired = Vec::new();
        {
            let mut idle = self.lock();
            if now.duration_since(idle.swept) >= SWEEP_EVERY {
                idle.swept = now;
                let old: Vec<Box<str>> =
                    idle.conns.iter().filter(|(_, (_, since))| now.duration_since(*since) > IDLE_TIMEOUT).map(|(a, _)| a.clone()).collect();
                expired.extend(old.iter().filter_map(|a| idle.conns.remove(a)));
            }
            expired.extend(idle.conns.insert(address.into(), (conn, now)));
        }
        drop(expired);
    }

    /// How many connections are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().conns.len()
    }
}
