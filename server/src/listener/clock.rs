//! How long a connection may sit between requests and how long a request's headers may take,
//! told apart. hyper's own HTTP/1 header timeout starts when it waits for the next request, so it
//! closes an idle kept-alive connection after the header timeout; browsers keep connections (and
//! connections they opened ahead of need) idle for about as long and then send on them, and a
//! request sent as the server closes the connection is lost (`ERR_EMPTY_RESPONSE`). Here the
//! header deadline starts at a request's first byte, and a connection with no request in flight
//! may stay idle for the longer idle timeout.
//!
//! [`Deadlined`] wraps the socket: a read that would wait past the deadline of the connection's
//! phase fails with `TimedOut`, which ends the connection. The service marks each request's start
//! and the end of its response ([`Clock::request_started`], [`InFlight`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The two limits, from `ELYSIUM_HTTP_HEADER_TIMEOUT_SECS` and `ELYSIUM_HTTP_IDLE_TIMEOUT_SECS`.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// From a request's first byte to its last header.
    pub header: Duration,
    /// With no request in flight and no byte of the next one: after connecting, or after the last
    /// response.
    pub idle: Duration,
}

/// Where a connection is; each phase but `Busy` has a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight, none begun, since `since`.
    Idle { since: Instant },
    /// An HTTP/1 request's first byte came at `since`; its headers have not all come.
    Head { since: Instant },
    /// At least one request is being served: its body and response have their own limits
    /// ([`crate::limits`]).
    Busy,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    in_flight: usize,
    /// Told by the first bytes; `None` until they come.
    protocol: Option<Protocol>,
    /// The reader parked on the socket, woken when the phase turns idle so that it arms the idle
    /// deadline instead of waiting without one.
    parked: Option<Waker>,
}

/// What a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    /// Told by its connection preface. Frames other than requests (settings, window updates,
    /// pings) arrive at any time, so only the idle deadline applies.
    Http2,
}

/// One connection's phase, shared by its socket and its service.
#[derive(Debug)]
pub struct Clock {
    deadlines: Deadlines,
    state: Mutex<State>,
}

/// The HTTP/2 connection preface's first bytes (RFC 9113 §3.4); `PRI` is no HTTP/1 method.
const HTTP2_PREFACE_START: &[u8] = b"PRI ";

impl Clock {
    pub fn new(deadlines: Deadlines) -> Arc<Self> {
        let state = State { phase: Phase::Idle { since: Instant::now() }, in_flight: 0, protocol: None, parked: None };
        Arc::new(Clock { deadlines, state: Mutex::new(state) })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain fields, whole after any panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request's headers have all come: the service is called with it.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.phase = Phase::Busy;
        InFlight(self.clone())
    }

    fn request_finished(&self) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.phase = Phase::Idle { since: Instant::now() };
            if let Some(parked) = state.parked.take() {
                parked.wake();
            }
        }
    }

    /// Bytes came from the client: on an idle HTTP/1 connection, the next request has begun.
    fn bytes_arrived(&self, bytes: &[u8]) {
        let mut state = self.state();
        let protocol = *state.protocol.get_or_insert_with(|| {
            if bytes.starts_with(HTTP2_PREFACE_START) { Protocol::Http2 } else { Protocol::Http1 }
        });
        if protocol == Protocol::Http1 && matches!(state.phase, Phase::Idle { .. }) {
            state.phase = Phase::Head { since: Instant::now() };
        }
    }

    /// The deadline of the current phase and what passing it means, noting the reader's waker
    /// (cloned only when it is a different one: the reader polls with the same waker each time).
    fn deadline(&self, waker: &Waker) -> Option<(Instant, &'static str)> {
        let mut state = self.state();
        match &mut state.parked {
            Some(parked) if parked.will_wake(waker) => {}
            parked => *parked = Some(waker.clone()),
        }
        match state.phase {
            Phase::Idle { since } => Some((since + self.deadlines.idle, "the connection sat idle too long")),
            Phase::Head { since } => Some((since + self.deadlines.header, "the request headers took too long")),
            Phase::Busy => None,
        }
    }
}

/// Held while a request is served, until its response has been written (or dropped): the
/// connection is busy, not idle.
#[derive(Debug)]
pub struct InFlight(Arc<Clock>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A socket whose reads fail with `TimedOut` past the deadline of its connection's phase.
#[derive(Debug)]
pub struct Deadlined<S> {
    inner: S,
    clock: Arc<Clock>,
    timer: Pin<Box<Sleep>>,
}

impl<S> Deadlined<S> {
    pub fn new(inner: S, clock: Arc<Clock>) -> Self {
        let timer = Box::pin(tokio::time::sleep(clock.deadlines.idle));
        Deadlined { inner, clock, timer }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadlined<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if !read.is_empty() {
                    this.clock.bytes_arrived(read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                let Some((deadline, passed)) = this.clock.deadline(cx.waker()) else {
                    return Poll::Pending;
                };
                if this.timer.deadline() != deadline {
                    this.timer.as_mut().reset(deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, passed))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadlined<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const DEADLINES: Deadlines = Deadlines { header: Duration::from_secs(10), idle: Duration::from_secs(75) };

    /// A connected pair: the server's end deadlined, the client's plain.
    fn pair() -> (Deadlined<tokio::io::DuplexStream>, tokio::io::DuplexStream, Arc<Clock>) {
        let (server, client) = tokio::io::duplex(1024);
        let clock = Clock::new(DEADLINES);
        (Deadlined::new(server, clock.clone()), client, clock)
    }

    async fn read_error(server: &mut Deadlined<tokio::io::DuplexStream>) -> io::ErrorKind {
        let mut buffer = [0u8; 64];
        loop {
            match server.read(&mut buffer).await {
                Ok(0) => panic!("the client closed"),
                Ok(_) => {}
                Err(error) => return error.kind(),
            }
        }
    }

    /// Paused time: the deadlines below are exact, and waiting costs nothing.
    #[tokio::test(start_paused = true)]
    async fn a_fresh_connection_may_sit_idle_for_the_idle_timeout_not_the_header_timeout() {
        let (mut server, _client, _clock) = pair();
        let started = Instant::now();
        assert_eq!(read_error(&mut server).await, io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(75));
    }

    #[tokio::test(start_paused = true)]
    async fn a_begun_request_has_the_header_timeout_from_its_first_byte() {
        let (mut server, mut client, _clock) = pair();
        tokio::time::sleep(Duration::from_secs(30)).await;
        client.write_all(b"GET / HT").await.expect("write");
        let first_byte = Instant::now();
        assert_eq!(read_error(&mut server).await, io::ErrorKind::TimedOut);
        assert_eq!(first_byte.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_has_no_deadline_here_and_idle_starts_when_its_response_ends() {
        let (mut server, mut client, clock) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
        let mut buffer = [0u8; 64];
        assert!(server.read(&mut buffer).await.expect("read") > 0);
        let in_flight = clock.request_started();
        // A handler slower than both limits: the socket waits for it.
        let waited = tokio::time::timeout(Duration::from_secs(600), server.read(&mut buffer)).await;
        assert!(waited.is_err(), "a busy connection was timed out");
        drop(in_flight);
        let responded = Instant::now();
        assert_eq!(read_error(&mut server).await, io::ErrorKind::TimedOut);
        assert_eq!(responded.elapsed(), Duration::from_secs(75));
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_between_requests_do_not_start_a_header_deadline() {
        let (mut server, mut client, _clock) = pair();
        client.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.expect("write");
        let started = Instant::now();
        assert_eq!(read_error(&mut server).await, io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(75));
    }
}
