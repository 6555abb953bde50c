//! `docker`: ping the engine, check an image reference, list a repository's
//! images, through the Docker Engine API (`bollard`). An unreachable engine is
//! an answer (`not-available: docker engine unreachable`), not an error storm.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::ListImagesOptionsBuilder;
use tokio::sync::OnceCell;

use crate::capabilities::grants;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::docker::{Host, Image};

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// The Docker engine client. The API version is negotiated on first use
/// (engines older than the client's default refuse newer versions).
#[derive(Debug)]
pub struct DockerBackend {
    host: String,
    timeout: Duration,
    negotiated: OnceCell<Docker>,
}

impl DockerBackend {
    /// A backend for `host` (`unix://...`, `tcp://...`), or `DOCKER_HOST`,
    /// or the local socket.
    pub fn new(host: Option<&str>, timeout: Duration) -> Self {
        let host = host
            .map(str::to_owned)
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        Self { host, timeout, negotiated: OnceCell::new() }
    }

    /// The engine address.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn unreachable(&self, why: impl std::fmt::Display) -> CapabilityError {
        CapabilityError::NotAvailable(format!("docker engine unreachable at {}: {why}", self.host))
    }

    async fn client(&self) -> Result<&Docker, CapabilityError> {
        self.negotiated
            .get_or_try_init(|| async {
                let docker = Docker::connect_with_host(&self.host).map_err(|err| self.unreachable(err))?;
                match tokio::time::timeout(self.timeout, docker.negotiate_version()).await {
                    Err(_) => Err(self.unreachable("timed out")),
                    Ok(Err(err)) => Err(self.unreachable(short(&err))),
                    Ok(Ok(docker)) => Ok(docker),
                }
            })
            .await
    }

    async fn call<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, CapabilityError> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(CapabilityError::Timeout(format!("docker: {what} timed out"))),
            Ok(Err(err)) if is_connection_error(&err) => Err(self.unreachable(short(&err))),
            Ok(Err(err)) => Err(CapabilityError::Failed(format!("docker: {what}: {}", short(&err)))),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// Ping; returns the engine's API version.
    pub async fn ping(&self) -> Result<String, CapabilityError> {
        let docker = self.client().await?;
        self.call("ping", docker.ping()).await?;
        Ok(docker.client_version().to_string())
    }

    /// The engine's version (`GET /version`).
    pub async fn version(&self) -> Result<String, CapabilityError> {
        let docker = self.client().await?;
        let version = self.call("version", docker.version()).await?;
        Ok(version.version.unwrap_or_else(|| "unknown".to_owned()))
    }

    /// Whether `reference` exists on the engine.
    pub async fn image_exists(&self, reference: &str) -> Result<bool, CapabilityError> {
        let docker = self.client().await?;
        match tokio::time::timeout(self.timeout, docker.inspect_image(reference)).await {
            Err(_) => Err(CapabilityError::Timeout("docker: image inspect timed out".to_owned())),
            Ok(Ok(_)) => Ok(true),
            Ok(Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })) => Ok(false),
            Ok(Err(err)) if is_connection_error(&err) => Err(self.unreachable(short(&err))),
            Ok(Err(err)) => Err(CapabilityError::Failed(format!("docker: image inspect: {}", short(&err)))),
        }
    }

    /// Images of `repository`.
    pub async fn list_images(&self, repository: &str) -> Result<Vec<Image>, CapabilityError> {
        let docker = self.client().await?;
        let filters = HashMap::from([("reference", vec![repository])]);
        let options = ListImagesOptionsBuilder::new().filters(&filters).build();
        let images = self.call("image list", docker.list_images(Some(options))).await?;
        Ok(images
            .into_iter()
            .map(|image| Image { id: image.id, tags: image.repo_tags, size: u64::try_from(image.size).unwrap_or(0) })
            .collect())
    }
}

fn is_connection_error(err: &bollard::errors::Error) -> bool {
    use bollard::errors::Error;
    matches!(
        err,
        Error::IOError { .. }
            | Error::HyperResponseError { .. }
            | Error::SocketNotFoundError(_)
            | Error::RequestTimeoutError
    )
}

fn short(err: &bollard::errors::Error) -> String {
    let text = err.to_string();
    text.lines().next().unwrap_or_default().chars().take(200).collect()
}

impl Host for HostState {
    async fn ping(&mut self) -> Answer<String> {
        let docker = self.docker();
        Ok(self.off_cpu(async move { docker?.ping().await }).await)
    }

    async fn image_exists(&mut self, reference: String) -> Answer<bool> {
        let docker = self.docker();
        Ok(self.off_cpu(async move { docker?.image_exists(&reference).await }).await)
    }

    async fn list_images(&mut self, repository: String) -> Answer<Vec<Image>> {
        let docker = self.docker();
        Ok(self.off_cpu(async move { docker?.list_images(&repository).await }).await)
    }
}

impl HostState {
    fn docker(&self) -> Result<Arc<DockerBackend>, CapabilityError> {
        if let Err(refusal) = grants::docker(&self.plugin.grants) {
            return Err(self.services.refuse(&self.plugin.name, refusal));
        }
        Ok(Arc::clone(&self.services.docker))
    }
}
