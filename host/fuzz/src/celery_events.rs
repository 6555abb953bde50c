//! Messages on Celery's event channel: decoding never panics, and however
//! many names and states a publisher invents, the metrics keep a bounded
//! number of label sets.

use std::sync::{Mutex, OnceLock, PoisonError};

use vigil_host::celery::CeleryMetrics;
use vigil_host::celery::events::{StreamState, TASK_LABELS_KEPT, decode};
use vigil_host::metrics::Metrics;

struct Sink {
    metrics: CeleryMetrics,
    state: Mutex<StreamState>,
}

fn sink() -> &'static Sink {
    static SINK: OnceLock<Sink> = OnceLock::new();
    SINK.get_or_init(|| {
        let registry = Box::leak(Box::new(Metrics::new().expect("metrics")));
        Sink { metrics: CeleryMetrics::new(registry).expect("celery metrics"), state: Mutex::default() }
    })
}

/// The property.
pub fn check(data: &[u8]) {
    let Ok(events) = decode(data) else { return };
    let sink = sink();
    let mut state = sink.state.lock().unwrap_or_else(PoisonError::into_inner);
    for event in events {
        sink.metrics.record(&mut state, event);
    }
    // Task names, `unknown` and `other`, each with at most nine states.
    let bound = (TASK_LABELS_KEPT + 2) * 9;
    assert!(sink.metrics.task_series() <= bound, "{} task series", sink.metrics.task_series());
}
