//! [`ObservedBody`]: a response body that ends its call's span when it ends.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::{grpc_status, Finish};

pin_project! {
    /// A gRPC response body that reads the call's status from its trailers and
    /// then ends the call's span; dropped before its end, it ends the span as
    /// `CANCELLED`.
    #[derive(Debug)]
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        finish: Option<Finish>,
    }

    impl<B> PinnedDrop for ObservedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(f) = this.project().finish.take() {
                f.status(1);
            }
        }
    }
}

impl<B> ObservedBody<B> {
    pub(super) fn new(inner: B, finish: Option<Finish>) -> Self {
        Self { inner, finish }
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body,
    B::Error: std::fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    if let Some(f) = this.finish.take() {
                        f.status(code);
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(f) = this.finish.take() {
                    f.error("body", &e.to_string());
                }
            }
            // Ended without trailers: no status was sent.
            Poll::Ready(None) => {
                if let Some(f) = this.finish.take() {
                    f.status(2);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
