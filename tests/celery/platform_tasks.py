"""Stand-ins for the platform's sync tasks, for Vigil's tests.

Each task records its own call (task name, id, args, kwargs) on the Redis
list ``vigil-test:calls`` of the broker: the worker's record is the truth the
tests compare Vigil's dispatches against. ``vigil-test.sentinel`` marks a
point in the queue (the worker takes tasks in order), so a test can know that
everything before it has been processed without waiting on a clock.

With ``VIGIL_TEST_SNAPSHOT`` set (a snapshot directory), the stuck-scan
recovery does what the platform's does: it marks the run FAILED, in the
snapshot's ``scan_runs.json`` (under the same ``flock`` the tests take to
add runs), so the drift is gone once the repair has run.

The reliability tests kill the broker and the worker at random moments, so
the worker acknowledges a task only after running it (a task interrupted by
a kill runs again: Celery's at-least-once, recognisable by its repeated id),
and a record that cannot reach the broker is retried until it can.
"""

import fcntl
import json
import os
import time
from datetime import datetime, timezone

import redis
from celery import Celery

BROKER = os.environ["VIGIL_TEST_BROKER"]

app = Celery("platform_tasks", broker=BROKER)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    worker_send_task_events=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    broker_transport_options={"visibility_timeout": 10},
)

_record = redis.Redis.from_url(BROKER)


def _fail_run(run_id):
    """Mark scan run ``run_id`` FAILED in the snapshot, if there is one."""
    snapshot = os.environ.get("VIGIL_TEST_SNAPSHOT")
    if not snapshot:
        return
    path = os.path.join(snapshot, "cspm_orchestration", "scan_runs.json")
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(path) as runs:
            lines = runs.read().splitlines()
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out = []
        for line in lines:
            run = json.loads(line) if line.strip() else None
            if run and run.get("run_id") == run_id and run.get("status") == "RUNNING":
                run["status"] = "FAILED"
                run["finished_at"] = {"$date": now}
                line = json.dumps(run)
            out.append(line)
        with open(path + ".tmp", "w") as tmp:
            tmp.write("\n".join(out) + "\n")
        os.replace(path + ".tmp", path)


def _recorder(name, repair=None):
    @app.task(name=name, bind=True)
    def task(self, *args, **kwargs):
        if repair:
            repair(*args)
        call = json.dumps({"task": name, "id": self.request.id, "args": list(args), "kwargs": kwargs})
        deadline = time.monotonic() + 120
        while True:
            try:
                _record.rpush("vigil-test:calls", call)
                return "recorded"
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    return task


recover_stuck_scan = _recorder("app.tasks.cspm.recover_stuck_scan", _fail_run)
sync_all = _recorder("app.services.vulnerability_sync.sync_all")
refresh_compliance = _recorder("app.tasks.compliance.refresh_compliance_data")
sentinel = _recorder("vigil-test.sentinel")


@app.task(name="vigil-test.fail")
def fail():
    raise RuntimeError("planned failure")
