"""The AWS emulator (moto server) for the local stack and the tests, one request at a time.

moto applies a TransactWriteItems without isolation from requests running beside it, and a
cancelled one restores its tables from a copy taken before it began, undoing what other
requests wrote meanwhile. DynamoDB isolates transactions. Serving one request at a time
(connections are still accepted concurrently) keeps the emulator's answers DynamoDB's.

moto also copies a table for every item of a TransactWriteItems (its rollback copy, the
same each time), and keeps every DynamoDB table and item it ever made, copies included, in
its models' instance trackers (for its dashboard): a bulk import's 96-item transactions took
seconds each and gigabytes that were never freed. Here a transaction copies each table
once, and DynamoDB models are not tracked. What moto answers is unchanged.

It also answers `GET /local/published-sms`: each SMS published through SNS with the
MessageId SNS answered (moto's own record of them), which the request recorder cannot tell,
so that the local stack can feed carriers' delivery receipts for them.

Usage: emulator_server.py <host> <port>
"""

import copy
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
from moto.sns.models import sns_backends
from werkzeug.serving import run_simple


class _OneCopyPerTable:
    """`copy` as moto's DynamoDB models see it: within a transaction, one copy per table."""

    def __init__(self) -> None:
        self.copies: dict[int, object] | None = None

    def deepcopy(self, value, memo=None):
        if self.copies is None or not isinstance(value, dynamodb_models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in self.copies:
            self.copies[id(value)] = copy.deepcopy(value)
        return self.copies[id(value)]

    def __getattr__(self, name):
        return getattr(copy, name)


def _copy_each_table_once() -> None:
    shim = _OneCopyPerTable()
    dynamodb_models.copy = shim
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        shim.copies = {}
        try:
            return original(self, transact_items)
        finally:
            shim.copies = None

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


class _Untracked(list):
    """An instance tracker that keeps nothing: moto tracks models only for its dashboard."""

    def append(self, _instance) -> None:
        pass


def _track_no_dynamodb_models() -> None:
    for model in model_data["dynamodb"].values():
        model.instances_tracked = _Untracked()


def _published_sms(start_response):
    """Every SMS SNS took, in order: its MessageId and destination number."""
    published = [
        {"message_id": message_id, "phone_number": phone_number}
        for regions in sns_backends.values()
        for backend in regions.values()
        for message_id, (phone_number, _message) in backend.sms_messages.items()
    ]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(published).encode()]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    _copy_each_table_once()
    _track_no_dynamodb_models()
    app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialised(environ, start_response):
        with one_at_a_time:
            if environ.get("PATH_INFO") == "/local/published-sms":
                return _published_sms(start_response)
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
