//! `vigil run`: the daemon.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::DaemonArgs;
use crate::daemon::Daemon;
use crate::{server, telemetry};

/// How long running checks get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Address to serve on (default 127.0.0.1:8787, or `listen` in the config).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

pub async fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = args.daemon.load_config(args.listen)?;
    telemetry::init(&config.log)?;
    raise_descriptor_limit(config.http.max_connections);
    let listen = config.listen;
    // The port first: a conflict fails at once, and probes get answers
    // (live, ready "starting") while a thousand plugins load.
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr().unwrap_or(listen);
    // Hold SIGHUP from here on (its default action would end the process
    // before the reload watcher takes it over).
    #[cfg(unix)]
    let _hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    let daemon = Daemon::new(config).await?;
    tracing::info!(listen = %local, "vigil serving; loading plugins");

    if let Some(reason) = daemon.admin.disabled() {
        tracing::warn!(target: "vigil::security", "{reason}");
    }
    let shutdown = CancellationToken::new();
    let (loading, stop) = (Arc::clone(&daemon), shutdown.clone());
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        loading.load_plugins().await;
        let set = loading.plugins.load();
        tracing::info!(
            plugins = set.plugins.len(),
            failed = set.failed.len(),
            seconds = started.elapsed().as_secs_f64(),
            "plugins loaded"
        );
        if !stop.is_cancelled() {
            loading.spawn_tasks(&stop);
            crate::reload::watch(&loading, &stop);
        }
    });

    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        signal.cancel();
    });

    if let Some(metrics_addr) = daemon.config.load().metrics_listen {
        let daemon_limits = daemon.config.load().http.clone();
        let daemon_metrics = Arc::clone(&daemon.metrics);
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr} (metrics_listen)"))?;
        tracing::info!(listen = %metrics_addr, "serving /metrics");
        let stop = shutdown.clone();
        let router = server::metrics_router(daemon.clone());
        tokio::spawn(async move {
            let (limits, metrics) = (daemon_limits.clone(), Arc::clone(&daemon_metrics));
            if let Err(err) = server::serve(metrics_listener, router, stop, &limits, metrics).await {
                tracing::error!(error = %err, "metrics server failed");
            }
        });
    }

    let limits = daemon.config.load().http.clone();
    server::serve(listener, server::app(daemon.clone()), shutdown.clone(), &limits, Arc::clone(&daemon.metrics))
        .await
        .context("HTTP server failed")?;

    shutdown.cancel();
    if !daemon.drain(DRAIN).await {
        tracing::warn!("checks still running after {}s; stopping anyway", DRAIN.as_secs());
    }
    tracing::info!("vigil stopped");
    Ok(ExitCode::SUCCESS)
}

/// Raise the soft limit on open files to the hard limit (as Go's runtime
/// does), so `[http] max_connections` and the plugins' sockets fit; say so
/// when even the hard limit is lower than the connection cap.
fn raise_descriptor_limit(max_connections: usize) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current.is_some_and(|soft| soft < hard)
    {
        limit.current = Some(hard);
        if let Err(err) = setrlimit(Resource::Nofile, limit) {
            tracing::debug!(error = %err, "cannot raise the open-files limit");
        }
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    if soft < max_connections as u64 + 256 {
        tracing::warn!(
            open_files = soft,
            max_connections,
            "the open-files limit is below [http] max_connections plus room for plugins; excess connections fail at accept"
        );
    }
}

pub(super) async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
