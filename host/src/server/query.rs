//! Query parameters of the readiness routes: `verbose` and repeatable
//! `exclude`, as Kubernetes' `/readyz` takes them. Anything else is a 400.

use super::ApiError;

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

#[cfg(test)]
mod tests {
    use super::*;

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
