//! Query parameters: the readiness routes take `verbose` and repeatable
//! `exclude`, as Kubernetes' `/readyz` does; `/health/status` takes filters
//! and a page, for daemons with hundreds of plugins. Anything else is a 400.

use super::ApiError;
use crate::manifest::PluginKind;
use crate::results::Status;

/// Parsed readiness parameters.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadyQuery {
    /// List each check with `[+]`/`[-]`.
    pub verbose: bool,
    /// Checks to leave out.
    pub exclude: Vec<String>,
}

impl ReadyQuery {
    /// Parse a raw query string.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut query = Self::default();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "verbose" => {
                    query.verbose = match value.as_ref() {
                        "" | "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "query parameter `verbose`: expected true or false, got {other:?}"
                            )));
                        }
                    }
                }
                "exclude" if value.is_empty() => {
                    return Err(ApiError::bad_request("query parameter `exclude`: needs a check name"));
                }
                "exclude" => query.exclude.push(value.into_owned()),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter `{other}` (expected `verbose` or `exclude`)"
                    )));
                }
            }
        }
        Ok(query)
    }
}

/// Which plugins `/health/status` lists: `check=NAME` (repeatable),
/// `kind=KIND` (repeatable), `status=STATUS` (repeatable; checks only), then
/// `offset` and `limit` over what matched (in name order).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StatusQuery {
    /// Plugin names to keep.
    pub names: Vec<String>,
    /// Kinds to keep.
    pub kinds: Vec<PluginKind>,
    /// Check statuses to keep.
    pub statuses: Vec<Status>,
    /// How many matches to skip.
    pub offset: usize,
    /// At most this many.
    pub limit: Option<usize>,
}

/// What a [`StatusQuery`] kept.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct Selection {
    /// Plugins loaded.
    pub total: usize,
    /// Plugins that matched the filters.
    pub matched: usize,
    /// Matches skipped.
    pub offset: usize,
    /// Matches listed.
    pub listed: usize,
}

impl StatusQuery {
    /// Parse a raw query string.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut query = Self::default();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let bad = |expected: &str| {
                ApiError::bad_request(format!("query parameter `{key}`: expected {expected}, got {value:?}"))
            };
            match key.as_ref() {
                "check" if !value.is_empty() => query.names.push(value.into_owned()),
                "check" => return Err(bad("a plugin name")),
                "kind" => query.kinds.push(
                    PluginKind::ALL
                        .into_iter()
                        .find(|kind| kind.as_str() == value)
                        .ok_or_else(|| bad("check, scrubber, watchdog or index-profile"))?,
                ),
                "status" => query.statuses.push(
                    [Status::Ok, Status::Degraded, Status::Down, Status::Unknown]
                        .into_iter()
                        .find(|status| status.as_str() == value)
                        .ok_or_else(|| bad("ok, degraded, down or unknown"))?,
                ),
                "offset" => query.offset = value.parse().map_err(|_| bad("a whole number"))?,
                "limit" => query.limit = Some(value.parse().map_err(|_| bad("a whole number"))?),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter `{other}` (expected `check`, `kind`, `status`, `offset` or `limit`)"
                    )));
                }
            }
        }
        Ok(query)
    }

    /// Whether it asks for everything (the cached answer).
    pub fn is_everything(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a plugin with this name, kind and status (`None` for
    /// non-checks) matches the filters.
    pub fn matches(&self, name: &str, kind: PluginKind, status: Option<Status>) -> bool {
        (self.names.is_empty() || self.names.iter().any(|n| n == name))
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.statuses.is_empty() || status.is_some_and(|s| self.statuses.contains(&s)))
    }

    /// Keep what matches `keep`, then the page.
    pub fn select<T>(&self, items: Vec<T>, keep: impl Fn(&T) -> bool) -> (Vec<T>, Selection) {
        let total = items.len();
        let matched: Vec<T> = items.into_iter().filter(|item| keep(item)).collect();
        let count = matched.len();
        let page: Vec<T> = matched.into_iter().skip(self.offset).take(self.limit.unwrap_or(usize::MAX)).collect();
        let selection = Selection { total, matched: count, offset: self.offset, listed: page.len() };
        (page, selection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_and_pages() {
        let query = StatusQuery::parse(Some("kind=check&status=down&status=degraded&offset=1&limit=2")).expect("valid");
        assert!(!query.is_everything());
        assert!(query.matches("db", PluginKind::Check, Some(Status::Down)));
        assert!(!query.matches("db", PluginKind::Check, Some(Status::Ok)));
        assert!(!query.matches("rules", PluginKind::Scrubber, None));
        let (page, selection) = query.select((0..10).collect(), |n| n % 2 == 0);
        assert_eq!(page, [2, 4]);
        assert_eq!(selection, Selection { total: 10, matched: 5, offset: 1, listed: 2 });
        assert!(StatusQuery::parse(None).expect("valid").is_everything());
        let named = StatusQuery::parse(Some("check=a&check=b")).expect("valid");
        assert!(named.matches("b", PluginKind::Watchdog, None) && !named.matches("c", PluginKind::Check, None));
    }

    #[test]
    fn status_rejects_what_it_does_not_know() {
        for bad in ["kind=probe", "status=fine", "limit=-1", "offset=x", "check=", "verbose"] {
            assert!(StatusQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_kubernetes_style_parameters() {
        let query = ReadyQuery::parse(Some("verbose&exclude=database&exclude=cache%2Dbackend")).expect("valid");
        assert!(query.verbose);
        assert_eq!(query.exclude, ["database", "cache-backend"]);
        assert_eq!(ReadyQuery::parse(None).expect("valid"), ReadyQuery::default());
        assert!(!ReadyQuery::parse(Some("verbose=false")).expect("valid").verbose);
    }

    #[test]
    fn rejects_unknown_and_malformed_parameters() {
        assert!(ReadyQuery::parse(Some("verbos")).is_err());
        assert!(ReadyQuery::parse(Some("verbose=maybe")).is_err());
        assert!(ReadyQuery::parse(Some("exclude=")).is_err());
    }
}
