"""A Vigil check written in Python: reports the cache backend's mode from a
Redis PING through the host's `redis` capability."""

import json

import wit_world
from wit_world.imports import log, redis, types
from componentize_py_types import Err


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Description:
        return types.Description(subsystem="cache", summary="Redis PING from a Python plugin")

    def run(self, config: str) -> types.CheckReport:
        settings = json.loads(config or "{}")
        log.log(log.Level.INFO, "python check running")
        try:
            micros = redis.ping()
        except Err as err:
            return types.CheckReport(
                status=types.Status.DEGRADED,
                mode=settings.get("fallback_mode", "in-memory"),
                optimal_mode="redis",
                impact="no cross-worker cache sharing",
                detail=f"redis unavailable: {err.value}",
                observations=[],
            )
        return types.CheckReport(
            status=types.Status.OK,
            mode="redis",
            optimal_mode="redis",
            impact="",
            detail="PING answered",
            observations=[types.Observation(name="redis_ping_latency", value=micros / 1e6, unit="seconds", labels=[])],
        )
