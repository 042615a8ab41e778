//! [`ResponseFuture`]: the response future of both gRPC layers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::WithContext;
use pin_project_lite::pin_project;

use super::body::ObservedBody;
use super::{grpc_status, Finish};

pin_project! {
    /// The response future of [`GrpcClient`](super::GrpcClient) and
    /// [`GrpcServer`](super::GrpcServer): polls the call inside its span's
    /// context, then hands the span to the response body (or ends it, on a
    /// transport error or a trailers-only response). Dropped before the
    /// response came (a timeout around the call, a client that reset the
    /// stream), it ends the span as `CANCELLED`.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: WithContext<F>,
        finish: Option<Finish>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(f) = this.project().finish.take() {
                f.status(1);
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: WithContext<F>, finish: Option<Finish>) -> Self {
        Self { inner, finish }
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
    E: std::fmt::Display,
{
    type Output = Result<http::Response<ObservedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let finish = this.finish.take();
        Poll::Ready(match result {
            Ok(response) => Ok(observe_response(response, finish)),
            Err(e) => {
                if let Some(f) = finish {
                    f.error("transport", &e.to_string());
                }
                Err(e)
            }
        })
    }
}

/// Ends the span now if the status is in the headers (a trailers-only
/// response), else hands it to the body, which ends it at the trailers.
fn observe_response<RB>(
    response: http::Response<RB>,
    finish: Option<Finish>,
) -> http::Response<ObservedBody<RB>> {
    let finish = match (finish, grpc_status(response.headers())) {
        (Some(f), Some(code)) => {
            f.status(code);
            None
        }
        (f, _) => f,
    };
    response.map(|body| ObservedBody::new(body, finish))
}
