"""Stand-ins for the platform's sync tasks, for Vigil's tests.

Each task records its own call (task name, id, args, kwargs) on the Redis
list ``vigil-test:calls`` of the broker: the worker's record is the truth the
tests compare Vigil's dispatches against. ``vigil-test.sentinel`` marks a
point in the queue (the worker takes tasks in order), so a test can know that
everything before it has been processed without waiting on a clock.
"""

import json
import os

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
)

_record = redis.Redis.from_url(BROKER)


def _recorder(name):
    @app.task(name=name, bind=True)
    def task(self, *args, **kwargs):
        _record.rpush(
            "vigil-test:calls",
            json.dumps({"task": name, "id": self.request.id, "args": list(args), "kwargs": kwargs}),
        )
        return "recorded"

    return task


recover_stuck_scan = _recorder("app.tasks.cspm.recover_stuck_scan")
sync_all = _recorder("app.services.vulnerability_sync.sync_all")
refresh_compliance = _recorder("app.tasks.compliance.refresh_compliance_data")
sentinel = _recorder("vigil-test.sentinel")


@app.task(name="vigil-test.fail")
def fail():
    raise RuntimeError("planned failure")
