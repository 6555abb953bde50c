"""A wire-level stand-in for MongoDB (PyPI ``mockupdb``) for Vigil's index
manager contract test. It is not a database: it answers the handshake,
``listIndexes``, ``createIndexes`` and ``aggregate`` with scripted replies,
including MongoDB's real error shapes (11000 DuplicateKey, 85
IndexOptionsConflict, 86 IndexKeySpecsConflict), and records every command
it receives, one JSON line each, in the file named by argv[1]. It prints
``PORT <n>`` when ready.
"""

import json
import sys

from bson import json_util
from bson.int64 import Int64
from mockupdb import MockupDB, OpMsg

LOG = open(sys.argv[1], "w", buffering=1)

HANDSHAKE = {
    "ismaster": True,
    "isWritablePrimary": True,
    "maxWireVersion": 17,
    "minWireVersion": 0,
    "maxBsonObjectSize": 16 * 1024 * 1024,
    "maxMessageSizeBytes": 48 * 1000 * 1000,
    "maxWriteBatchSize": 100000,
    "logicalSessionTimeoutMinutes": 30,
}

ID = {"v": 2, "key": {"_id": 1}, "name": "_id_"}
EXISTING = {
    "findings": [ID],
    "scan_runs": [ID, {"v": 2, "key": {"run_id": 1}, "name": "idx_run_id_unique", "unique": True}],
    "vulnerability_occurrences": [ID, {"v": 2, "key": {"legacy": 1}, "name": "legacy_1"}],
}
ERRORS = {
    "idx_dedup_key_unique": (11000, "DuplicateKey",
        "E11000 duplicate key error collection: cspm_cloud_security.findings index: idx_dedup_key_unique dup key: { dedup_key: \"k1\" }"),
    "idx_status": (85, "IndexOptionsConflict", "Index already exists with a different name: status_1"),
    "idx_team_id": (86, "IndexKeySpecsConflict",
        "An existing index has the same name as the requested index but different keys"),
}
DUPLICATES = [{"_id": {"dedup_key": "k1"}, "count": 3}, {"_id": {"dedup_key": "k2"}, "count": 2}]

server = MockupDB(auto_ismaster=HANDSHAKE, max_wire_version=17)
port = server.run()
print(f"PORT {port}", flush=True)

while True:
    request = server.receives(timeout=3600)
    if not isinstance(request, OpMsg):
        request.ok()
        continue
    doc = dict(request.doc)
    name = next(iter(doc))
    if name in ("hello", "ismaster", "isMaster", "endSessions", "ping", "buildInfo"):
        request.ok(**HANDSHAKE)
        continue
    record = {k: v for k, v in doc.items() if k not in ("lsid", "$clusterTime", "$readPreference", "maxTimeMS")}
    LOG.write(json_util.dumps(record, json_options=json_util.RELAXED_JSON_OPTIONS) + "\n")
    if name == "listIndexes":
        collection = doc["listIndexes"]
        if collection not in EXISTING:
            request.command_err(26, f"ns does not exist: {doc['$db']}.{collection}")
        else:
            ns = f"{doc['$db']}.{collection}"
            request.ok(cursor={"id": Int64(0), "ns": ns, "firstBatch": EXISTING[collection]})
    elif name == "createIndexes":
        index = doc["indexes"][0]
        if index["name"] in ERRORS:
            code, code_name, message = ERRORS[index["name"]]
            request.reply({"ok": 0, "errmsg": message, "code": code, "codeName": code_name})
        else:
            request.ok(createdCollectionAutomatically=False, numIndexesBefore=1, numIndexesAfter=2)
    elif name == "aggregate":
        ns = f"{doc['$db']}.{doc['aggregate']}"
        request.ok(cursor={"id": Int64(0), "ns": ns, "firstBatch": DUPLICATES})
    else:
        request.ok()
