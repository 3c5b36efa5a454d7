"""The AWS emulator (moto server) for the local stack and the tests, one request at a time.

moto applies a TransactWriteItems without isolation from requests running beside it, and a
cancelled one puts back what it had changed, over whatever other requests wrote meanwhile.
DynamoDB isolates transactions. Serving one request at a time (connections are still
accepted concurrently) keeps the emulator's answers DynamoDB's.

To put things back, moto deep-copies every table a transaction writes to before it
begins: seconds per transaction once a table holds 100,000 items (a clinic of 100,000
patients has two million lookup items), and gigabytes. Here a transaction keeps only the
items it targets, as they were, and a cancelled one restores those: the same tables
afterwards, as nothing else runs meanwhile. A Query of a table (not of an index) gathers and
sorts every item of the table before it keeps the partition asked for: here it is given the
partition's items only, so its time follows the partition, as DynamoDB's does, not the
table (seconds per Query at two million items). moto also keeps every DynamoDB table and
item it ever made in its models' instance trackers (for its dashboard): DynamoDB models are
not tracked here. What moto answers is unchanged.

Two routes of its own, for the local stack, the tests and the benches (not AWS APIs):

- `GET /local/published-sms`: each SMS published through SNS with the MessageId SNS
  answered (moto's own record of them), which the request recorder cannot tell, so that the
  local stack can feed carriers' delivery receipts for them.
- `POST /local/dynamodb/load`: puts items straight into moto's DynamoDB tables, without a
  request per 25 items (about a millisecond of emulator CPU per item through HTTP). The
  body is BatchWriteItem's, with puts only and no limit on their number:
  `{"RequestItems": {"<table>": [{"PutRequest": {"Item": {<DynamoDB JSON>}}}, ...]}}`.
  Each item goes through moto's own put (key and type checks, no condition), as a PutItem
  would; the table is found by name in whichever account and region holds it. The answer is
  `{"loaded": <items>, "peak_memory_kib": <the emulator's VmHWM>}`; a request naming a missing (or ambiguous) table, or holding an
  item moto refuses, is answered 400 with `{"error": ..., "loaded": <items put before>}`:
  the load is not atomic.

Usage: emulator_server.py <host> <port>
"""

import copy
import inspect
import json
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.core.model_instances import model_data
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.sns.models import sns_backends
from werkzeug.serving import run_simple


class _NoTableCopies:
    """`copy` as moto's DynamoDB models see it: within a transaction, a table is not copied."""

    def __init__(self) -> None:
        self.in_transaction = False

    def deepcopy(self, value, memo=None):
        if self.in_transaction and isinstance(value, dynamodb_models.Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _target(backend, transact_item):
    """The table and key a write of a TransactWriteItems targets; None when moto will
    refuse the write itself (no such table, no key), which then changes nothing."""
    try:
        _, operation = next(iter(transact_item.items()))
        table = backend.tables[operation["TableName"]]
        key = operation["Item"] if "Item" in operation else operation["Key"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:  # a malformed write: moto refuses it as it would have
        return None
    return table, hash_key, range_key


def _stored(table, hash_key, range_key):
    if table.range_key_attr is None:
        return table.items.get(hash_key)
    return table.items.get(hash_key, {}).get(range_key)


def _restore(table, hash_key, range_key, item) -> None:
    partition = table.items if table.range_key_attr is None else table.items[hash_key]
    place = hash_key if table.range_key_attr is None else range_key
    if item is None:
        partition.pop(place, None)
    else:
        partition[place] = item


def _undo_cancelled_transactions_item_by_item() -> None:
    shim = _NoTableCopies()
    dynamodb_models.copy = shim
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        targets = [t for t in (_target(self, item) for item in transact_items) if t]
        # An update changes the stored item in place: keep a copy, not the item.
        before = [(*t, copy.deepcopy(_stored(*t))) for t in targets]
        shim.in_transaction = True
        try:
            return original(self, transact_items)
        except Exception:
            # Last first: a key written twice (which moto refuses) gets its first state.
            for table, hash_key, range_key, item in reversed(before):
                _restore(table, hash_key, range_key, item)
            raise
        finally:
            shim.in_transaction = False

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def _query_partition_only() -> None:
    original = dynamodb_models.Table.query
    signature = inspect.signature(original)

    def query(self, *args, **kwargs):
        asked = signature.bind(self, *args, **kwargs).arguments
        hash_key = asked.get("hash_key")
        if asked.get("index_name") or hash_key is None:
            return original(self, *args, **kwargs)
        stored = self.items.get(hash_key)
        if stored is None:
            partition = []
        elif self.range_key_attr is None:
            partition = [stored]
        else:
            partition = list(stored.values())
        # moto keeps, of all the table's items, those of the partition: give it only those.
        self.all_items = lambda: partition
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    dynamodb_models.Table.query = query


class _Untracked(list):
    """An instance tracker that keeps nothing: moto tracks models only for its dashboard."""

    def append(self, _instance) -> None:
        pass


def _track_no_dynamodb_models() -> None:
    for model in model_data["dynamodb"].values():
        model.instances_tracked = _Untracked()


def _answer(start_response, status, body):
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def _published_sms(_environ, start_response):
    """Every SMS SNS took, in order: its MessageId and destination number."""
    published = [
        {"message_id": message_id, "phone_number": phone_number}
        for regions in sns_backends.values()
        for backend in regions.values()
        for message_id, (phone_number, _message) in backend.sms_messages.items()
    ]
    return _answer(start_response, "200 OK", published)


def _table_named(name):
    """The one table of that name, in whichever account and region holds it."""
    tables = [
        backend.tables[name]
        for regions in dynamodb_backends.values()
        for backend in regions.values()
        if name in backend.tables
    ]
    if len(tables) != 1:
        raise LookupError(f"{len(tables)} tables are named {name!r}")
    return tables[0]


def _peak_memory_kib():
    """The emulator's peak resident memory (VmHWM), where Linux tells it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _load_items(environ, start_response):
    """Puts a BatchWriteItem body's items into their tables with moto's own put."""
    loaded = 0
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
        for name, requests in body["RequestItems"].items():
            table = _table_named(name)
            for request in requests:
                table.put_item(request["PutRequest"]["Item"])
                loaded += 1
    except Exception as error:  # the caller is told what failed and how far it got
        return _answer(
            start_response,
            "400 Bad Request",
            {"error": f"{type(error).__name__}: {error}", "loaded": loaded},
        )
    return _answer(
        start_response, "200 OK", {"loaded": loaded, "peak_memory_kib": _peak_memory_kib()}
    )


_LOCAL_ROUTES = {
    ("GET", "/local/published-sms"): _published_sms,
    ("POST", "/local/dynamodb/load"): _load_items,
}


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    _undo_cancelled_transactions_item_by_item()
    _query_partition_only()
    _track_no_dynamodb_models()
    app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialised(environ, start_response):
        with one_at_a_time:
            local = _LOCAL_ROUTES.get((environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")))
            if local:
                return local(environ, start_response)
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close:
                    close()

    run_simple(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
