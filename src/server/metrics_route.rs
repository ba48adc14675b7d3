//! `GET /metrics`: the Prometheus exposition of `App::metrics`. Here, not in `metrics.rs`,
//! so the metrics stay below the `App` that holds them.

/// `GET /metrics`: the exposition, for Prometheus to scrape.
pub(super) fn route(
    app: std::sync::Arc<crate::app::App>,
) -> impl warp::Filter<Extract = (warp::http::Response<String>,), Error = warp::Rejection> + Clone {
    use warp::Filter;
    warp::get()
        .and(warp::path("metrics"))
        .and(warp::path::end())
        .map(move || {
            warp::http::Response::builder()
                .header("content-type", crate::metrics::CONTENT_TYPE)
                .header("cache-control", "no-store")
                .body(app.metrics.encode())
                .unwrap_or_default()
        })
}
