//! Reads WebSocket frame headers off the client's raw bytes before the protocol codec does, so a
//! header announcing more than the frame limit ends the connection at once. The codec only judges
//! a frame's size once all of it has arrived: a client could otherwise announce a gigabyte, send
//! nothing more, and hold the socket until the heartbeat gives up on it.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;

/// Where the guard is in the client's byte stream.
#[derive(Debug, Default)]
struct Framing {
    /// Bytes of the header being read.
    header: Vec<u8>,
    /// Payload bytes of the current frame still to pass.
    payload_left: u64,
}

impl Framing {
    /// The header's full length and the payload length it announces, once enough of it is in.
    fn parse(header: &[u8]) -> Option<(usize, u64)> {
        let second = *header.get(1)?;
        let masked = second & 0x80 != 0;
        let (extended, length) = match second & 0x7f {
            126 => (2, u64::from(u16::from_be_bytes([*header.get(2)?, *header.get(3)?]))),
            127 => {
                let bytes: [u8; 8] = header.get(2..10)?.try_into().ok()?;
                (8, u64::from_be_bytes(bytes))
            }
            short => (0, u64::from(short)),
        };
        Some((2 + extended + if masked { 4 } else { 0 }, length))
    }

    /// Follows `chunk`; the announced length of the first frame over `limit`, if any.
    fn follow(&mut self, chunk: &[u8], limit: u64) -> Option<u64> {
        let mut at = 0;
        while at < chunk.len() {
            if self.payload_left > 0 {
                let skip = self.payload_left.min((chunk.len() - at) as u64);
                self.payload_left -= skip;
                at += skip as usize;
                continue;
            }
            self.header.push(chunk[at]);
            at += 1;
            if let Some((header_length, payload)) = Framing::parse(&self.header) {
                // The length is known before the mask key has arrived: judge it at once.
                if payload > limit {
                    return Some(payload);
                }
                if self.header.len() == header_length {
                    self.payload_left = payload;
                    self.header.clear();
                }
            }
        }
        None
    }
}

/// The client's bytes, cut off with an error at the first frame header over the limit.
pub struct FrameGuard<S> {
    inner: S,
    limit: u64,
    framing: Framing,
    tripped: bool,
}

impl<S> FrameGuard<S> {
    pub fn new(inner: S, limit: usize) -> FrameGuard<S> {
        FrameGuard { inner, limit: limit as u64, framing: Framing::default(), tripped: false }
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.tripped {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(context) {
            Poll::Ready(Some(Ok(chunk))) => {
                let limit = self.limit;
                if let Some(announced) = self.framing.follow(&chunk, limit) {
                    self.tripped = true;
                    tracing::debug!(announced, limit, "a client announced a frame over the limit");
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_followed_across_frames_and_chunks() {
        let mut framing = Framing::default();
        // A masked 5-byte text frame, then a masked 300-byte one split over chunks.
        let mut bytes = vec![0x81, 0x85, 1, 2, 3, 4, b'h', b'e', b'l', b'l', b'o'];
        bytes.extend([0x81, 0xFE, 0x01, 0x2C, 1, 2, 3, 4]);
        bytes.extend(std::iter::repeat_n(b'x', 300));
        for chunk in bytes.chunks(7) {
            assert_eq!(framing.follow(chunk, 1024), None);
        }
        assert!(framing.header.is_empty() && framing.payload_left == 0, "at a frame boundary");
    }

    #[test]
    fn a_header_over_the_limit_trips_before_any_payload() {
        let mut framing = Framing::default();
        let header = [0x81, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(framing.follow(&header, 65_536), Some(1 << 30));
        let mut framing = Framing::default();
        assert_eq!(framing.follow(&[0x81, 0xFE, 0x08, 0x00], 1024), Some(2048), "as soon as the length is known");
    }
}
