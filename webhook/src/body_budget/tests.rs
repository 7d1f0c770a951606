use super::*;
use axum::{Router, routing::post};
use futures::StreamExt;
use tower::ServiceExt;

const TOTAL: usize = 1000;

fn app(budget: Budget) -> Router {
    Router::new()
        .route(
            "/mutate",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .layer(axum::middleware::from_fn_with_state(budget, limit))
}

fn budget() -> Budget {
    Budget::new(
        TOTAL,
        Duration::from_millis(200),
        Duration::from_secs(10),
        600,
        Arc::new(Metrics::new()),
    )
}

/// A body that sends `first` bytes, declares `declared`, and never finishes.
fn stalled(declared: usize, first: usize) -> axum::http::Request<Body> {
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; first]))])
        .chain(futures::stream::pending());
    axum::http::Request::post("/mutate")
        .header("content-length", declared)
        .body(Body::from_stream(chunks))
        .unwrap()
}

fn whole(len: usize) -> axum::http::Request<Body> {
    axum::http::Request::post("/mutate")
        .header("content-length", len)
        .body(Body::from(vec![b'x'; len]))
        .unwrap()
}

async fn status(app: Router, req: axum::http::Request<Body>) -> StatusCode {
    app.oneshot(req).await.unwrap().status()
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_gets_408_at_the_deadline_and_gives_its_bytes_back() {
    let budget = budget();
    let started = tokio::time::Instant::now();
    assert_eq!(
        status(app(budget.clone()), stalled(500, 100)).await,
        StatusCode::REQUEST_TIMEOUT
    );
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(budget.available(), TOTAL);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_does_not_fit_waits_briefly_then_gets_503_and_ordinary_ones_pass() {
    let budget = budget();
    let holder = tokio::spawn(status(app(budget.clone()), stalled(600, 10)));
    tokio::task::yield_now().await;
    assert_eq!(budget.available(), TOTAL - 600);
    // 400 bytes fit next to the stalled 600; 500 do not, and give up after the wait.
    assert_eq!(status(app(budget.clone()), whole(400)).await, StatusCode::OK);
    let started = tokio::time::Instant::now();
    let res = app(budget.clone()).oneshot(whole(500)).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    assert_eq!(holder.await.unwrap(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(status(app(budget.clone()), whole(500)).await, StatusCode::OK);
    assert_eq!(budget.available(), TOTAL);
}

#[tokio::test]
async fn bodies_over_the_size_limit_get_413_declared_or_not() {
    let budget = budget();
    assert_eq!(
        status(app(budget.clone()), whole(700)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let chunked = axum::http::Request::post("/mutate")
        .body(Body::from_stream(futures::stream::iter(
            (0..7).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 100]))),
        )))
        .unwrap();
    assert_eq!(
        status(app(budget.clone()), chunked).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(budget.available(), TOTAL);
}

#[tokio::test(start_paused = true)]
async fn one_connection_cannot_take_the_whole_budget() {
    let budget = budget();
    let on = |share: &Arc<Semaphore>, mut req: axum::http::Request<Body>| {
        req.extensions_mut().insert(ConnectionShare(share.clone()));
        req
    };
    let (greedy, other) = (Arc::new(Semaphore::new(600)), Arc::new(Semaphore::new(600)));
    let holder = tokio::spawn(status(app(budget.clone()), on(&greedy, stalled(500, 10))));
    tokio::task::yield_now().await;
    // The greedy connection's second body does not fit its share, though the budget has room.
    assert_eq!(
        status(app(budget.clone()), on(&greedy, whole(200))).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status(app(budget.clone()), on(&other, whole(400))).await,
        StatusCode::OK
    );
    assert_eq!(holder.await.unwrap(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!((greedy.available_permits(), budget.available()), (600, TOTAL));
}
