//! Reading a request body with a byte bound. A chunked body announces no length, so the
//! bound is kept while reading; each route family answers the two failures its own way
//! (`/api` as the real backend, `/__pawmock/` with the control API's JSON errors).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::StreamExt;

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BodyError {
    /// The stream failed mid-body.
    Unreadable,
    /// More than the bound arrived.
    TooLarge,
}

/// The whole body of `stream`, or an error as soon as it passes `max` bytes.
pub(super) async fn read_bounded<S, B>(stream: S, max: usize) -> Result<Bytes, BodyError>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.remaining() > max {
            return Err(BodyError::TooLarge);
        }
        body.put(chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: &[&'static [u8]],
    ) -> impl futures_util::Stream<Item = Result<Bytes, warp::Error>> {
        futures_util::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn a_body_is_read_whole_up_to_its_bound_and_refused_past_it() {
        let read = read_bounded(chunks(&[b"ab", b"cd"]), 4).await;
        assert_eq!(read, Ok(Bytes::from_static(b"abcd")));
        let over = read_bounded(chunks(&[b"ab", b"cde"]), 4).await;
        assert_eq!(over, Err(BodyError::TooLarge));
    }
}
