//! Steady HTTP load on every route, with the statuses each may answer.
//! Each client keeps one connection alive and walks the route table; an
//! admin client sends one admin request a second (they are rate-limited).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A request the load sends, and the statuses that are not a failure.
pub struct Route {
    /// Method.
    pub method: &'static str,
    /// Path and query.
    pub path: &'static str,
    /// Send the admin token.
    pub token: bool,
    /// Acceptable statuses.
    pub expect: &'static [u16],
}

/// Probes and scrapes: what clients send all the time. Readiness may be 503
/// while a dependency is down; bad requests must stay 400/404.
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/health/live", token: false, expect: &[200] },
    Route { method: "GET", path: "/health/ready", token: false, expect: &[200, 503] },
    Route { method: "GET", path: "/health/ready?verbose", token: false, expect: &[200, 503] },
    Route { method: "GET", path: "/health/ready/cache-backend", token: false, expect: &[200, 503] },
    Route { method: "GET", path: "/health/status", token: false, expect: &[200] },
    Route { method: "GET", path: "/health/metrics", token: false, expect: &[200] },
    Route { method: "GET", path: "/metrics", token: false, expect: &[200] },
    Route { method: "GET", path: "/health/ready?unknown=1", token: false, expect: &[400] },
    Route { method: "GET", path: "/no/such/route", token: false, expect: &[404] },
];

/// Admin requests, one a second in turn (over the budget they are 429).
pub const ADMIN: &[Route] = &[
    Route { method: "POST", path: "/admin/checks/run", token: true, expect: &[200, 429] },
    Route { method: "POST", path: "/admin/reload", token: true, expect: &[200, 429] },
    Route { method: "POST", path: "/admin/watchdog/run", token: true, expect: &[200, 429] },
    Route { method: "POST", path: "/admin/reload", token: false, expect: &[401, 429] },
];

/// One answered (or failed) request.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// When it finished, from the start of the load.
    pub at: Duration,
    /// How long it took.
    pub latency: Duration,
    /// Admin route (index into [`ADMIN`]) or not (index into [`ROUTES`]).
    pub admin: bool,
    /// Index into its table.
    pub route: usize,
    /// HTTP status; 0 when the connection failed.
    pub status: u16,
}

impl Sample {
    /// Its route.
    pub fn route(&self) -> &'static Route {
        if self.admin { &ADMIN[self.route] } else { &ROUTES[self.route] }
    }

    /// Whether the status is one the route may answer.
    pub fn expected(&self) -> bool {
        self.route().expect.contains(&self.status)
    }
}

async fn send(http: &reqwest::Client, addr: SocketAddr, route: &Route, token: &str) -> u16 {
    let url = format!("http://{addr}{}", route.path);
    let mut request = if route.method == "POST" { http.post(&url) } else { http.get(&url) };
    if route.token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            // Read the whole body: a response is only served once it is.
            match response.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    }
}

/// Run `clients` clients plus the admin client against `addr` until `stop`.
pub async fn run(addr: SocketAddr, clients: usize, token: String, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let stop = Arc::clone(&stop);
        let token = token.clone();
        tasks.spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
            let mut samples = Vec::new();
            let mut i = client;
            while !stop.load(Ordering::Relaxed) {
                let route = i % ROUTES.len();
                i += 1;
                let sent = Instant::now();
                let status = send(&http, addr, &ROUTES[route], &token).await;
                samples.push(Sample { at: started.elapsed(), latency: sent.elapsed(), admin: false, route, status });
            }
            samples
        });
    }
    tasks.spawn(async move {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        let mut samples = Vec::new();
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        for route in (0..ADMIN.len()).cycle() {
            ticker.tick().await;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let sent = Instant::now();
            let status = send(&http, addr, &ADMIN[route], &token).await;
            samples.push(Sample { at: started.elapsed(), latency: sent.elapsed(), admin: true, route, status });
        }
        samples
    });
    let mut all = Vec::new();
    while let Some(Ok(samples)) = tasks.join_next().await {
        all.extend(samples);
    }
    all.sort_by_key(|s| s.at);
    all
}
