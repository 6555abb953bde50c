//! Request counts and durations, sharded by thread and folded at scrape.
//!
//! Every probe answer is counted, so counting must cost next to nothing
//! when two cores answer 100,000 requests a second. Counters shared by all
//! threads (prometheus' `IntCounterVec` and `HistogramVec`: a read lock on
//! the label map, then several atomic adds on one cache line) bounce that
//! line between the cores on every request. Here each thread writes its own
//! shard, under a lock nobody else takes but the scrape, keyed by small
//! integers (the route template interned once per thread), and the scrape
//! adds the shards up into the same two families.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};

/// Upper bounds of the duration buckets: 50 µs to 1 s.
const BUCKETS: [f64; 11] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 1.0];

/// Methods told apart; anything else counts as `other`.
const METHODS: [&str; 4] = ["GET", "HEAD", "POST", "other"];

/// One `(route, method, status)` series: its count, and the duration
/// histogram of its route and method.
#[derive(Debug, Clone, Copy, Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Per bucket, not cumulative (the scrape accumulates).
    buckets: [u64; BUCKETS.len()],
}

/// The series one thread wrote, keyed by [`key`].
#[derive(Default)]
struct Shard {
    series: Vec<(u64, Series)>,
}

/// The request families of one daemon.
pub struct HttpStats {
    shards: Box<[Padded]>,
    descs: Vec<Desc>,
    requests_help: String,
    duration_help: String,
}

/// A shard on its own cache lines, so two threads' shards never share one.
#[repr(align(128))]
#[derive(Default)]
struct Padded(Mutex<Shard>);

/// Route templates seen in this process, by id (a handful: the router's
/// routes and `unmatched`).
static ROUTES: Mutex<Vec<Box<str>>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's shard number.
    static SHARD: Cell<Option<usize>> = const { Cell::new(None) };
    /// This thread's copy of the route ids, so interning takes no shared
    /// lock; a short list, where comparing a few short strings costs less
    /// than hashing one.
    static ROUTE_IDS: RefCell<Vec<(Box<str>, u32)>> = const { RefCell::new(Vec::new()) };
}

/// The id of a route template.
pub fn route_id(route: &str) -> u32 {
    ROUTE_IDS.with(|ids| {
        if let Some((_, id)) = ids.borrow().iter().find(|(known, _)| **known == *route) {
            return *id;
        }
        let mut routes = ROUTES.lock().unwrap_or_else(PoisonError::into_inner);
        let id = routes.iter().position(|r| &**r == route).unwrap_or_else(|| {
            routes.push(route.into());
            routes.len() - 1
        });
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        ids.borrow_mut().push((route.into(), id));
        id
    })
}

/// A method's index in [`METHODS`].
pub fn method_index(method: &axum::http::Method) -> u8 {
    use axum::http::Method;
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        _ => 3,
    }
}

fn key(route: u32, method: u8, status: u16) -> u64 {
    (u64::from(route) << 32) | (u64::from(method) << 16) | u64::from(status)
}

fn unkey(key: u64) -> (u32, u8, u16) {
    ((key >> 32) as u32, (key >> 16) as u8, key as u16)
}

impl HttpStats {
    /// Empty families named `{namespace}_http_requests_total` and
    /// `{namespace}_http_request_duration_seconds`.
    pub fn new(namespace: &str) -> Result<Self, prometheus::Error> {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let requests_help = "HTTP requests by matched route, method and status code.".to_owned();
        let duration_help = "Duration of HTTP requests by matched route.".to_owned();
        let descs = vec![
            Desc::new(
                format!("{namespace}_http_request_duration_seconds"),
                duration_help.clone(),
                vec!["method".into(), "route".into()],
                HashMap::new(),
            )?,
            Desc::new(
                format!("{namespace}_http_requests_total"),
                requests_help.clone(),
                vec!["method".into(), "route".into(), "status".into()],
                HashMap::new(),
            )?,
        ];
        // More shards than threads that usually serve, so threads rarely share one.
        let shards = (0..threads * 4).map(|_| Padded::default()).collect();
        Ok(Self { shards, descs, requests_help, duration_help })
    }

    /// Count one answered request.
    pub fn record(&self, route: u32, method: u8, status: u16, elapsed: Duration) {
        let shard = SHARD.with(|shard| {
            shard.get().unwrap_or_else(|| {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let next = NEXT.fetch_add(1, Ordering::Relaxed);
                shard.set(Some(next));
                next
            })
        });
        let mut shard = self.shards[shard % self.shards.len()].0.lock().unwrap_or_else(PoisonError::into_inner);
        let key = key(route, method, status);
        let series = match shard.series.iter().position(|(k, _)| *k == key) {
            Some(i) => &mut shard.series[i].1,
            None => {
                shard.series.push((key, Series::default()));
                let last = shard.series.len() - 1;
                &mut shard.series[last].1
            }
        };
        let seconds = elapsed.as_secs_f64();
        series.count += 1;
        series.sum += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            series.buckets[bucket] += 1;
        }
    }

    /// Every shard added up, by `(route, method, status)`.
    fn totals(&self) -> HashMap<u64, Series> {
        let mut totals: HashMap<u64, Series> = HashMap::new();
        for shard in &self.shards {
            for (key, series) in &shard.0.lock().unwrap_or_else(PoisonError::into_inner).series {
                let total = totals.entry(*key).or_default();
                total.count += series.count;
                total.sum += series.sum;
                for (sum, n) in total.buckets.iter_mut().zip(series.buckets) {
                    *sum += n;
                }
            }
        }
        totals
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<proto::LabelPair> {
    pairs
        .iter()
        .map(|(name, value)| {
            let mut pair = proto::LabelPair::default();
            pair.set_name((*name).to_owned());
            pair.set_value((*value).to_owned());
            pair
        })
        .collect()
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<proto::Metric>) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(kind);
    family.set_metric(metrics);
    family
}

impl Collector for HttpStats {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let totals = self.totals();
        let routes = ROUTES.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let route_name = |id: u32| routes.get(id as usize).map_or("unmatched", |r| &**r);
        // The histogram has no status label: fold statuses per route and method.
        let mut durations: HashMap<(u32, u8), Series> = HashMap::new();
        let mut requests = Vec::with_capacity(totals.len());
        for (key, series) in &totals {
            let (route, method, status) = unkey(*key);
            let mut counter = proto::Counter::default();
            counter.set_value(series.count as f64);
            let mut metric = proto::Metric::from_label(labels(&[
                ("method", METHODS[usize::from(method.min(3))]),
                ("route", route_name(route)),
                ("status", &status.to_string()),
            ]));
            metric.set_counter(counter);
            requests.push(metric);
            let total = durations.entry((route, method)).or_default();
            total.count += series.count;
            total.sum += series.sum;
            for (sum, n) in total.buckets.iter_mut().zip(series.buckets) {
                *sum += n;
            }
        }
        let histograms = durations
            .into_iter()
            .map(|((route, method), series)| {
                let mut cumulative = 0;
                let buckets = BUCKETS
                    .iter()
                    .zip(series.buckets)
                    .map(|(&bound, n)| {
                        cumulative += n;
                        let mut bucket = proto::Bucket::default();
                        bucket.set_upper_bound(bound);
                        bucket.set_cumulative_count(cumulative);
                        bucket
                    })
                    .collect();
                let mut histogram = proto::Histogram::default();
                histogram.set_sample_count(series.count);
                histogram.set_sample_sum(series.sum);
                histogram.set_bucket(buckets);
                let mut metric = proto::Metric::from_label(labels(&[
                    ("method", METHODS[usize::from(method.min(3))]),
                    ("route", route_name(route)),
                ]));
                metric.set_histogram(histogram);
                metric
            })
            .collect();
        vec![
            family(&self.descs[0].fq_name, &self.duration_help, MetricType::HISTOGRAM, histograms),
            family(&self.descs[1].fq_name, &self.requests_help, MetricType::COUNTER, requests),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_fold_into_one_series_per_label_set() {
        let stats = HttpStats::new("t").expect("families");
        let ready = route_id("/health/ready");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        stats.record(ready, 0, 200, Duration::from_micros(80));
                    }
                    stats.record(route_id("unmatched"), 3, 404, Duration::from_millis(2));
                });
            }
        });
        let registry = prometheus::Registry::new();
        registry.register(Box::new(stats)).expect("register");
        let mut text = Vec::new();
        prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &registry.gather(), &mut text).expect("encode");
        let text = String::from_utf8(text).expect("utf-8");
        for line in [
            "t_http_requests_total{method=\"GET\",route=\"/health/ready\",status=\"200\"} 4000",
            "t_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 4",
            "t_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health/ready\",le=\"0.00005\"} 0",
            "t_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health/ready\",le=\"0.0001\"} 4000",
            "t_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.001\"} 0",
            "t_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.0025\"} 4",
            "t_http_request_duration_seconds_count{method=\"GET\",route=\"/health/ready\"} 4000",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
    }
}
