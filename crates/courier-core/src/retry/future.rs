//! [`ResponseFuture`] of the [`Retry`](super::Retry) service, and [`RetryDelay`], the wait between
//! attempts.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Request;
use pin_project_lite::pin_project;
use tower::retry::Policy;
use tower_service::Service;

use super::policy::RetryPolicy;
use super::service::ClassifyErrors;
use crate::error::{BoxError, Error};
use crate::request_only::ResponseFuture as ClassifyErrorsFuture;

pin_project! {
    /// The future returned by [`Retry`](super::Retry): the response of the last attempt, or its
    /// Courier [`Error`].
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
        S::Error: Into<BoxError>,
        RetryPolicy: Policy<Request<B>, S::Response, Error>,
    {
        #[pin]
        kind: Kind<S, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, B>
    where
        S: Service<Request<B>>,
        S::Error: Into<BoxError>,
        RetryPolicy: Policy<Request<B>, S::Response, Error>,
    {
        Retrying {
            #[pin]
            future: tower::retry::future::ResponseFuture<RetryPolicy, ClassifyErrors<S>, Request<B>>,
        },
        // The policy is disabled: one call to the inner service.
        Direct {
            #[pin]
            future: ClassifyErrorsFuture<S::Future>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    RetryPolicy: Policy<Request<B>, S::Response, Error>,
{
    pub(super) fn retrying(
        future: tower::retry::future::ResponseFuture<RetryPolicy, ClassifyErrors<S>, Request<B>>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Retrying { future },
        }
    }

    pub(super) fn direct(future: ClassifyErrorsFuture<S::Future>) -> Self {
        ResponseFuture {
            kind: Kind::Direct { future },
        }
    }
}

impl<S, B> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    RetryPolicy: Policy<Request<B>, S::Response, Error>,
{
    type Output = Result<S::Response, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Retrying { future } => future.poll(cx),
            KindProj::Direct { future } => future.poll(cx),
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    RetryPolicy: Policy<Request<B>, S::Response, Error>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

pin_project! {
    /// The wait before the next attempt, returned by [`RetryPolicy`]'s
    /// [`tower::retry::Policy::retry`].
    #[derive(Debug)]
    pub struct RetryDelay {
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl RetryDelay {
    pub(super) fn new(delay: Duration) -> RetryDelay {
        RetryDelay {
            sleep: tokio::time::sleep(delay),
        }
    }
}

impl Future for RetryDelay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }
}
