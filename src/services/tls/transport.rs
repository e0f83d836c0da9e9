//! A TCP connection that can switch to TLS in the middle of a session
//! (STARTTLS, STLS) or start in it (ports 465, 993, 995, 443), as one pair
//! of read and write halves whose type does not change at the switch, so a
//! session keeps its buffered reader and writer around the handshake.
//!
//! The switch is where the STARTTLS injection class (CVE-2011-0411) lives:
//! whatever the peer sent after the STARTTLS command and before the
//! handshake sits in the session's read buffer and would be read as if it
//! had come over TLS. `start_server_tls` throws it away first (and says how
//! much), so nothing sent in plain text ever counts as protected.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::failure::HandshakeFailure;

enum Stream {
    Plain(TcpStream),
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// During a handshake, or after one failed: nothing to read or write.
    Switching,
}

type Shared = Arc<Mutex<Stream>>;

/// The reading half of a connection.
pub struct ReadHalf(Shared);

/// The writing half of a connection.
pub struct WriteHalf(Shared);

/// A session's buffered ends of one connection.
pub type Reader = BufReader<ReadHalf>;

/// Splits a plain connection into halves that can switch to TLS later.
pub fn split(stream: TcpStream) -> (ReadHalf, WriteHalf) {
    halves(Stream::Plain(stream))
}

fn halves(stream: Stream) -> (ReadHalf, WriteHalf) {
    let shared = Arc::new(Mutex::new(stream));
    (ReadHalf(shared.clone()), WriteHalf(shared))
}

/// Implicit TLS (ports 465, 993, 995, 443): the handshake first, then the
/// protocol, both halves already encrypted.
pub async fn accept(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
) -> io::Result<(ReadHalf, WriteHalf)> {
    let tls = acceptor.accept(stream).await?;
    Ok(halves(Stream::Server(Box::new(tls))))
}

/// Whether the connection is encrypted now.
pub fn is_encrypted(half: &ReadHalf) -> bool {
    matches!(*lock(&half.0), Stream::Server(_) | Stream::Client(_))
}

/// The server's side of STARTTLS/STLS, after it has sent its "go ahead"
/// reply: flushes that reply, drops whatever the client sent after its
/// command (returning how many bytes), and does the handshake. After an
/// error the connection is unusable and the session should end.
pub async fn start_server_tls<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut W,
    acceptor: &TlsAcceptor,
) -> io::Result<usize> {
    writer.flush().await?;
    let discarded = discard_buffered(reader);
    let plain = take_plain(reader.get_ref())?;
    let tls = acceptor.accept(plain).await;
    let mut stream = lock(&reader.get_ref().0);
    *stream = Stream::Server(Box::new(tls?));
    Ok(discarded)
}

/// The client's side of STARTTLS, after the server said go ahead: the
/// server's certificate is checked for `name` against the connector's
/// roots. Bytes already buffered from the server (a server may not send
/// any before the handshake) are dropped too.
pub async fn start_client_tls<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut W,
    connector: &TlsConnector,
    name: ServerName<'static>,
) -> io::Result<usize> {
    writer.flush().await?;
    let discarded = discard_buffered(reader);
    let plain = take_plain(reader.get_ref())?;
    let tls = connector.connect(name, plain).await;
    let mut stream = lock(&reader.get_ref().0);
    *stream = Stream::Client(Box::new(tls?));
    Ok(discarded)
}

/// Implicit TLS from the client's side (a PC's client on 465, 993, 995).
pub async fn connect(
    stream: TcpStream,
    connector: &TlsConnector,
    name: ServerName<'static>,
) -> io::Result<(ReadHalf, WriteHalf)> {
    let tls = connector.connect(name, stream).await?;
    Ok(halves(Stream::Client(Box::new(tls))))
}

/// A client's STARTTLS switch as the clients use it: the certificate
/// checked for `name` (a DNS name or an address, as the client's settings
/// write it), the handshake done `within` the time, a failure in words.
pub async fn switch_client(
    reader: &mut Reader,
    writer: &mut WriteHalf,
    connector: &TlsConnector,
    name: &str,
    within: Duration,
) -> Result<(), HandshakeFailure> {
    let server = server_name(name)?;
    match timeout(within, start_client_tls(reader, writer, connector, server)).await {
        Err(_) => Err(HandshakeFailure::Timeout(within)),
        Ok(Err(e)) => Err(HandshakeFailure::from_io(&e)),
        Ok(Ok(_)) => Ok(()),
    }
}

/// A client's implicit TLS (465, 993, 995) as the clients use it; see
/// `switch_client`.
pub async fn connect_client(
    stream: TcpStream,
    connector: &TlsConnector,
    name: &str,
    within: Duration,
) -> Result<(ReadHalf, WriteHalf), HandshakeFailure> {
    let server = server_name(name)?;
    match timeout(within, connect(stream, connector, server)).await {
        Err(_) => Err(HandshakeFailure::Timeout(within)),
        Ok(Err(e)) => Err(HandshakeFailure::from_io(&e)),
        Ok(Ok(halves)) => Ok(halves),
    }
}

fn server_name(name: &str) -> Result<ServerName<'static>, HandshakeFailure> {
    let name = name.trim_end_matches('.');
    ServerName::try_from(name.to_string()).map_err(|_| HandshakeFailure::BadName(name.to_string()))
}

fn discard_buffered(reader: &mut Reader) -> usize {
    let buffered = reader.buffer().len();
    reader.consume(buffered);
    buffered
}

fn take_plain(half: &ReadHalf) -> io::Result<TcpStream> {
    let mut stream = lock(&half.0);
    match std::mem::replace(&mut *stream, Stream::Switching) {
        Stream::Plain(tcp) => Ok(tcp),
        other => {
            *stream = other;
            Err(io::Error::other("the connection is already encrypted"))
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Stream> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn switching() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the TLS handshake did not complete",
    )
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut *lock(&self.0) {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Switching => Poll::Ready(Err(switching())),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut *lock(&self.0) {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Switching => Poll::Ready(Err(switching())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *lock(&self.0) {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Switching => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *lock(&self.0) {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Switching => Poll::Ready(Ok(())),
        }
    }
}

/// The protocol version and cipher suite, when encrypted: `TLS 1.3
/// TLS13_AES_256_GCM_SHA384`, as the dialogue log shows it.
pub fn describe(half: &ReadHalf) -> Option<String> {
    let stream = lock(&half.0);
    let (version, suite) = match &*stream {
        Stream::Server(s) => (
            s.get_ref().1.protocol_version(),
            s.get_ref().1.negotiated_cipher_suite(),
        ),
        Stream::Client(s) => (
            s.get_ref().1.protocol_version(),
            s.get_ref().1.negotiated_cipher_suite(),
        ),
        _ => return None,
    };
    let version = match version {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "TLS",
    };
    let suite = suite
        .and_then(|s| s.suite().as_str())
        .unwrap_or("unknown cipher suite");
    Some(format!("{version} {suite}"))
}

/// Whether the connection's TLS handshake resumed an earlier session
/// (a ticket or session id) instead of a full one.
pub fn is_resumed(half: &ReadHalf) -> bool {
    let kind = match &*lock(&half.0) {
        Stream::Server(s) => s.get_ref().1.handshake_kind(),
        Stream::Client(s) => s.get_ref().1.handshake_kind(),
        _ => None,
    };
    kind == Some(rustls::HandshakeKind::Resumed)
}

/// A server's halves of a new connection: plain, or after the handshake
/// on an implicit-TLS port (`implicit`), which must finish within
/// `handshake_time` so a silent client cannot hold a slot.
pub async fn open_server(
    stream: TcpStream,
    implicit: Option<&TlsAcceptor>,
    handshake_time: std::time::Duration,
) -> io::Result<(ReadHalf, WriteHalf)> {
    match implicit {
        None => Ok(split(stream)),
        Some(acceptor) => tokio::time::timeout(handshake_time, accept(stream, acceptor))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no TLS handshake in time"))?,
    }
}
