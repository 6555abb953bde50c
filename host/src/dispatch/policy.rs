//! What a watchdog may dispatch: only the tasks (and queues) its manifest
//! grants, and only payloads within the configured size. Checked before a
//! request reaches the broker, the webhook or the log target.

use crate::manifest::Grants;
use crate::runtime::bindings::types::{DispatchRequest, Finding};

/// Whether `grants` let a plugin send `task` to `queue` (`None`: the
/// dispatcher's default queue). The reason names what was refused.
pub fn allowed(grants: &Grants, task: &str, queue: Option<&str>, default_queue: &str) -> Result<(), String> {
    let task_ok = grants.dispatch.iter().any(|granted| match granted.strip_suffix(".*") {
        Some(module) => {
            task.strip_prefix(module).and_then(|rest| rest.strip_prefix('.')).is_some_and(|r| !r.is_empty())
        }
        None => granted == task,
    });
    if !task_ok {
        return Err(format!("task {task:?} is not in grants.dispatch"));
    }
    let queue = queue.unwrap_or(default_queue);
    let queue_ok =
        if grants.queues.is_empty() { queue == default_queue } else { grants.queues.iter().any(|q| q == queue) };
    if !queue_ok {
        return Err(format!("queue {queue:?} is not in grants.queues"));
    }
    Ok(())
}

/// The first field of a finding or its dispatch request larger than `max`
/// bytes, with its size.
pub fn oversized(finding: &Finding, request: &DispatchRequest, max: usize) -> Option<(&'static str, usize)> {
    [
        ("args-json", request.args_json.len()),
        ("kwargs-json", request.kwargs_json.len()),
        ("task", request.task.len()),
        ("dedupe-key", request.dedupe_key.len()),
        ("queue", request.queue.as_deref().map_or(0, str::len)),
        ("rule", finding.rule.len()),
        ("subject", finding.subject.len()),
        ("detail", finding.detail.len()),
    ]
    .into_iter()
    .find(|(_, size)| *size > max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(tasks: &[&str], queues: &[&str]) -> Grants {
        Grants {
            dispatch: tasks.iter().map(|t| (*t).to_owned()).collect(),
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            ..Grants::default()
        }
    }

    #[test]
    fn exact_names_and_modules() {
        let g = grants(&["app.tasks.cspm.recover_stuck_scan", "app.services.sync.*"], &[]);
        assert!(allowed(&g, "app.tasks.cspm.recover_stuck_scan", None, "celery").is_ok());
        assert!(allowed(&g, "app.services.sync.sync_all", None, "celery").is_ok());
        assert!(allowed(&g, "app.services.sync.deep.x", None, "celery").is_ok());
        let refused = allowed(&g, "app.tasks.admin.purge_all_tenants", None, "celery").unwrap_err();
        assert_eq!(refused, "task \"app.tasks.admin.purge_all_tenants\" is not in grants.dispatch");
        assert!(allowed(&g, "app.services.sync", None, "celery").is_err());
        assert!(allowed(&g, "app.services.syncer.x", None, "celery").is_err());
        assert!(allowed(&grants(&[], &[]), "anything", None, "celery").is_err());
    }

    #[test]
    fn queues_default_or_granted() {
        let g = grants(&["t"], &[]);
        assert!(allowed(&g, "t", Some("celery"), "celery").is_ok());
        assert!(allowed(&g, "t", Some("admin"), "celery").is_err());
        let g = grants(&["t"], &["sync", "celery"]);
        assert!(allowed(&g, "t", Some("sync"), "celery").is_ok());
        assert!(allowed(&g, "t", Some("admin"), "celery").is_err());
    }
}
