//! `mongo`: `hello` and database names on the primary and fallback
//! endpoints, through the official driver's pooled clients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;

use crate::capabilities::grants;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::mongo::{Endpoint, Host, ServerInfo};

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// One configured MongoDB deployment.
#[derive(Debug, Clone)]
pub struct MongoEndpoint {
    client: mongodb::Client,
    timeout: Duration,
}

impl MongoEndpoint {
    /// A client for `uri` (connections are made on first use). `field` names
    /// the setting in errors; the URI itself never appears in them.
    pub async fn new(uri: &str, timeout: Duration, field: &str) -> Result<Self, String> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|err| format!("field `{field}`: invalid MongoDB URI ({})", kind(&err)))?;
        options.app_name = Some("vigil".to_owned());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        let client = mongodb::Client::with_options(options)
            .map_err(|err| format!("field `{field}`: cannot create MongoDB client ({})", kind(&err)))?;
        Ok(Self { client, timeout })
    }

    async fn command(&self, command: Document) -> Result<Document, CapabilityError> {
        let admin = self.client.database("admin");
        match tokio::time::timeout(self.timeout + Duration::from_millis(250), admin.run_command(command)).await {
            Err(_) => Err(CapabilityError::Timeout(format!(
                "mongo: no answer within {}",
                humantime::format_duration(self.timeout)
            ))),
            Ok(Err(err)) => Err(CapabilityError::Failed(format!("mongo: {}", kind(&err)))),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    /// The driver's client (pooled; shared with the document store).
    pub fn client(&self) -> &mongodb::Client {
        &self.client
    }

    /// `hello` plus the server version.
    pub async fn hello(&self) -> Result<ServerInfo, CapabilityError> {
        let started = Instant::now();
        let hello = self.command(doc! { "hello": 1 }).await?;
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let writable = hello.get_bool("isWritablePrimary").unwrap_or(false);
        let build = self.command(doc! { "buildInfo": 1 }).await?;
        let version = build.get_str("version").unwrap_or("unknown").to_owned();
        Ok(ServerInfo { version, latency_us, writable })
    }

    /// Database names.
    pub async fn database_names(&self) -> Result<Vec<String>, CapabilityError> {
        match tokio::time::timeout(self.timeout + Duration::from_millis(250), self.client.list_database_names()).await {
            Err(_) => Err(CapabilityError::Timeout("mongo: listDatabases timed out".to_owned())),
            Ok(Err(err)) => Err(CapabilityError::Failed(format!("mongo: {}", kind(&err)))),
            Ok(Ok(names)) => Ok(names),
        }
    }
}

/// The primary and fallback deployments.
#[derive(Debug, Default)]
pub struct MongoBackend {
    /// `endpoints.mongodb_uri`.
    pub primary: Option<MongoEndpoint>,
    /// `endpoints.mongodb_fallback_uri`.
    pub fallback: Option<MongoEndpoint>,
}

/// A driver error in words that cannot carry credentials.
pub fn kind(err: &mongodb::error::Error) -> String {
    use mongodb::error::ErrorKind;
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { .. } => "server selection timed out: no reachable server".to_owned(),
        ErrorKind::Authentication { .. } => "authentication failed".to_owned(),
        ErrorKind::InvalidArgument { .. } => "invalid argument".to_owned(),
        ErrorKind::Io(io) => format!("I/O error: {}", io.kind()),
        ErrorKind::Command(command) => format!("command failed with code {} ({})", command.code, command.code_name),
        ErrorKind::DnsResolve { .. } => "DNS resolution failed".to_owned(),
        ErrorKind::InvalidResponse { message, .. } => format!("invalid server response: {message}"),
        ErrorKind::BsonDeserialization(err) => format!("cannot read the server's reply: {err}"),
        other => {
            format!("driver error ({})", std::any::type_name_of_val(other).rsplit("::").next().unwrap_or("unknown"))
        }
    }
}

impl Host for HostState {
    async fn hello(&mut self, endpoint: Endpoint) -> Answer<ServerInfo> {
        let backend = match self.mongo() {
            Ok(backend) => backend,
            Err(err) => return Ok(Err(err)),
        };
        let (target, field) = match endpoint {
            Endpoint::Primary => (backend.primary.as_ref(), "endpoints.mongodb_uri"),
            Endpoint::Fallback => (backend.fallback.as_ref(), "endpoints.mongodb_fallback_uri"),
        };
        let Some(target) = target.cloned() else {
            return Ok(Err(CapabilityError::NotAvailable(format!("mongo: no endpoint configured ({field})"))));
        };
        Ok(self.off_cpu(async move { target.hello().await }).await)
    }

    async fn list_databases(&mut self) -> Answer<Vec<String>> {
        let backend = match self.mongo() {
            Ok(backend) => backend,
            Err(err) => return Ok(Err(err)),
        };
        let Some(primary) = backend.primary.as_ref() else {
            return Ok(Err(CapabilityError::NotAvailable(
                "mongo: no endpoint configured (endpoints.mongodb_uri)".into(),
            )));
        };
        let primary = primary.clone();
        let names = self.off_cpu(async move { primary.database_names().await }).await;
        let granted = &self.plugin.grants.mongo;
        Ok(names.map(|names| names.into_iter().filter(|n| granted.contains(n)).collect()))
    }
}

impl HostState {
    fn mongo(&self) -> Result<Arc<MongoBackend>, CapabilityError> {
        if let Err(refusal) = grants::mongo(&self.plugin.grants) {
            return Err(self.services.refuse(&self.plugin.name, refusal));
        }
        Ok(Arc::clone(&self.services.mongo))
    }
}
