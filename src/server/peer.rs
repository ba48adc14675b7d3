//! The client's address, for filters that need it (the control API's loopback rule).
//!
//! warp puts the remote address in a request extension only when `warp::serve` accepts
//! the socket, and its extension type is private. pawmock accepts sockets itself
//! (`server/accept.rs`, for the handshake timeout), so it inserts its own extension and
//! filters read it through [`remote`].

use std::net::SocketAddr;
use std::task::{Context, Poll};

use warp::Filter;

/// The peer address of the socket a request came on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// A service that tags every request with the socket's peer address.
#[derive(Clone)]
pub(crate) struct WithPeer<S> {
    pub(crate) inner: S,
    pub(crate) peer: Option<SocketAddr>,
}

impl<S, B> tower_service::Service<warp::http::Request<B>> for WithPeer<S>
where
    S: tower_service::Service<warp::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: warp::http::Request<B>) -> Self::Future {
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(Peer(peer));
        }
        self.inner.call(req)
    }
}

/// The client's address: pawmock's own extension, else warp's (a server started by
/// `warp::serve`, as in warp's test helpers).
pub(crate) fn remote()
-> impl Filter<Extract = (Option<SocketAddr>,), Error = std::convert::Infallible> + Clone {
    warp::ext::optional::<Peer>()
        .and(warp::addr::remote())
        .map(|ours: Option<Peer>, warps: Option<SocketAddr>| ours.map(|Peer(a)| a).or(warps))
}
