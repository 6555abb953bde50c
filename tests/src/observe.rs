//! Watching a running daemon from outside: its file descriptors, sockets and
//! resident memory from /proc, values from its Prometheus exposition, and a
//! small seeded random source for choosing moments (the seed is printed so
//! a failing run can be replayed with `VIGIL_TEST_SEED`).

/// Open file descriptors of `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Open sockets of `pid` (TCP, Unix) among its descriptors.
pub fn sockets(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return 0 };
    dir.flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:")))
        .count()
}

/// Descriptors and sockets of `pid` once in-flight connections have come
/// and gone: the smallest counts seen over about a second (a leak stays;
/// a connection being made or closed does not).
pub fn settled_fds(pid: u32) -> (usize, usize) {
    (0..20).fold((usize::MAX, usize::MAX), |(fds, socks), _| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        (fds.min(open_fds(pid)), socks.min(sockets(pid)))
    })
}

/// Resident memory of `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Sum of the samples of `name` whose labels include every pair of `labels`.
pub fn metric_sum(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let wanted = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .fold(0.0, |sum, value| sum + value)
}

/// xorshift64*: enough to pick moments and orders reproducibly.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `VIGIL_TEST_SEED`, else the clock; prints the seed.
    pub fn from_env(what: &str) -> Self {
        let seed = std::env::var("VIGIL_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
        });
        eprintln!("{what}: VIGIL_TEST_SEED={seed}");
        Self(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Shuffle `items` in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// Percentile (`0.0..=1.0`) of sorted `values`; `None` when empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    Some(sorted[rank.min(sorted.len() - 1)])
}
