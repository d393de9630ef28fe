//! Reading a request body, time-bounded: every receiver reads its body here, so the limits and
//! their answers are the same on every wire. A body must arrive whole within
//! [`BODY_READ_DEADLINE`] of the request's start (a client trickling it a byte at a time would
//! otherwise hold its share of the in-flight body budget for ever); past it the request gets 503
//! with `Retry-After` (a slow network may do better later). A body over the limit gets 413.

use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use llmtrace_ingest::{ErrorClass, IngestError};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a request body may take to arrive.
pub(crate) const BODY_READ_DEADLINE: Duration = Duration::from_secs(60);

/// The body did not arrive before the deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub(crate) struct BodyDeadlineElapsed(Duration);

pin_project_lite::pin_project! {
    /// A request body that fails once its deadline passes.
    pub(crate) struct DeadlineBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: tokio::time::Sleep,
        limit: Duration,
    }
}

impl<B> DeadlineBody<B> {
    /// `inner`, failing `limit` from now.
    pub(crate) fn new(inner: B, limit: Duration) -> Self {
        DeadlineBody {
            inner,
            sleep: tokio::time::sleep(limit),
            limit,
        }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.sleep.poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadlineElapsed(*this.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `e` (or one of its sources) is a `T`.
fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<T>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Reads `body`, at most `limit` bytes: 413 beyond it, 503 + `Retry-After` when it does not
/// arrive in time, 400 when the connection breaks. The buffer is allocated once at the declared
/// length (never more than the limit), so a body costs its size, not twice its size as a collect
/// into chunks and then one contiguous copy would.
pub(crate) async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, IngestError> {
    use http_body_util::BodyExt;
    let too_large = || {
        IngestError::new(
            ErrorClass::PayloadTooLarge,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    if declared > limit {
        return Err(too_large());
    }
    let mut body = body;
    let mut buf: Vec<u8> = Vec::with_capacity(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let e: &(dyn std::error::Error + 'static) = &e;
            if caused_by::<BodyDeadlineElapsed>(e) {
                IngestError::new(
                    ErrorClass::Unavailable,
                    format!(
                        "the request body did not arrive within {} s; retry",
                        BODY_READ_DEADLINE.as_secs()
                    ),
                )
            } else {
                IngestError::new(ErrorClass::BadRequest, format!("could not read body: {e}"))
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.len()) > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_past_the_deadline_is_a_retryable_refusal() {
        use tokio_stream::StreamExt;
        // One byte, then silence.
        let trickle = tokio_stream::once(Ok::<_, std::io::Error>(Bytes::from_static(b"{")))
            .chain(tokio_stream::pending());
        let body = axum::body::Body::new(DeadlineBody::new(
            axum::body::Body::from_stream(trickle),
            Duration::from_secs(60),
        ));
        let err = read_body(body, 1024).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Unavailable, "{err}");

        let body = axum::body::Body::new(DeadlineBody::new(
            axum::body::Body::from(vec![0u8; 2048]),
            Duration::from_secs(60),
        ));
        let err = read_body(body, 1024).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::PayloadTooLarge, "{err}");

        let body = axum::body::Body::new(DeadlineBody::new(
            axum::body::Body::from("ok"),
            Duration::from_secs(60),
        ));
        assert_eq!(read_body(body, 1024).await.unwrap(), "ok");
    }
}
