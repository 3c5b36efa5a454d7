"""Schemathesis hooks for tests/contract/run: each request signs in as staff, or, on the
/fhir routes, as the demo clinic's EMR integration; the unlock page is also tried with real links
(two secure messages that the run sends to the demo clinic's Ava Smith before it starts),
not only with made-up tokens that all answer 404; each upload URL handed out gets a file,
so that a send carrying it reaches a real object; and one example sends a secure message
with an uploaded file."""

import hashlib
import json
import os
import re

import requests
import schemathesis
from hypothesis import strategies as st

# Opened with the right PHN, then fuzzed.
UNLOCK_TOKEN = os.environ["CONTRACT_UNLOCK_TOKEN"]
# Locked (423) by wrong PHNs.
LOCK_TOKEN = os.environ["CONTRACT_LOCK_TOKEN"]
# PHNs of infra/local/demo-clinic.json, typed as a patient might: Ava Smith's, and another
# patient's (valid, so that it counts as a wrong attempt).
RIGHT_PHN = "9698 658 215"
WRONG_PHN = "9890-608-412"
WRONG_ATTEMPTS_TO_LOCK = 5
UNLOCK_PATH = "/m/{token}"
SEND_PATH = "/appointments/{appointmentId}/messages"
API = os.environ["CONTRACT_API"]
AUTHORIZATION = {"Authorization": f"Bearer {os.environ['LOCAL_API_TOKEN']}"}
# The /fhir routes are the EMR integration's: its machine client's token.
FHIR_AUTHORIZATION = f"Bearer {os.environ['LOCAL_INGEST_TOKEN']}"
# The admin function's routes each take their own role: the demo clinic's admin and privacy
# officer, and the platform's operator, from the sign-ins the local stack wrote.
with open(os.environ["CONTRACT_SIGN_INS"], encoding="utf-8") as sign_ins_file:
    SIGN_INS = json.load(sign_ins_file)


def _token_of(role: str) -> str:
    clinic = None if role == "operator" else "demo-clinic"
    for sign_in in SIGN_INS:
        if sign_in["role"] == role and sign_in["clinic_id"] == clinic:
            return f"Bearer {sign_in['token']}"
    raise KeyError(f"no {role} sign-in in {os.environ['CONTRACT_SIGN_INS']}")


# The route prefixes of each role other than staff's.
ROLE_ROUTES = [
    ("/clinics", _token_of("operator")),
    ("/clinic", _token_of("clinic-admin")),
    ("/templates", _token_of("clinic-admin")),
    ("/chats", _token_of("clinic-admin")),
    ("/audit", _token_of("privacy-officer")),
]


def _is_unlock(context) -> bool:
    return context.operation is not None and context.operation.path == UNLOCK_PATH


# The file the hooks upload: its size is declared when the upload starts (the URL signs it).
FILE = b"%PDF-1.4\n% contract test\n"


def _upload(upload):
    put = requests.put(
        upload["url"],
        data=FILE,
        headers=upload["headers"],
        timeout=30,
    )
    put.raise_for_status()


def _uploaded_attachment() -> str:
    ticket = requests.post(
        f"{API}/attachments",
        json={"content_type": "application/pdf", "size": len(FILE)},
        headers=AUTHORIZATION,
        timeout=30,
    )
    ticket.raise_for_status()
    _upload(ticket.json()["upload"])
    return ticket.json()["attachment_id"]


@schemathesis.hook
def before_add_examples(context, examples):
    operation = context.operation
    if operation is not None and operation.path == SEND_PATH:
        attachment = _uploaded_attachment()
        examples.append(
            operation.Case(
                path_parameters={"appointmentId": "a-ava-upcoming"},
                headers={"Idempotency-Key": f"contract-{attachment}"},
                body={
                    "kind": "secure",
                    "template_id": "results-ready",
                    "attachments": [
                        {"id": attachment, "file_name": "Results (Dr. Chen).pdf"}
                    ],
                },
                media_type="application/json",
            )
        )
    if not _is_unlock(context):
        return
    if operation.method.upper() == "GET":
        for token in (UNLOCK_TOKEN, LOCK_TOKEN):
            examples.append(operation.Case(path_parameters={"token": token}))
        return
    attempts = [(UNLOCK_TOKEN, RIGHT_PHN)]
    attempts += [(LOCK_TOKEN, WRONG_PHN)] * (WRONG_ATTEMPTS_TO_LOCK + 1)
    for token, phn in attempts:
        examples.append(
            operation.Case(
                path_parameters={"token": token},
                body={"phn": phn},
                media_type="application/x-www-form-urlencoded",
            )
        )


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    # Generated requests go to a made-up link, the opened one or the locked one.
    if not _is_unlock(context):
        return st.just(path_parameters)
    return st.sampled_from(
        [path_parameters, {"token": UNLOCK_TOKEN}, {"token": LOCK_TOKEN}]
    )


@schemathesis.hook
def after_call(context, case, response):
    # Upload a small file to each upload URL handed out, so that sends that carry the
    # attachment (the SendWithFile link) reach the checks of a real object in the bucket.
    if case.operation.path != "/attachments" or response.status_code != 201:
        return
    _upload(response.json()["upload"])


@schemathesis.hook
def before_call(context, case, kwargs):
    _sign_in(case)
    _one_key_per_send(case)


def _sign_in(case):
    # Staff on the dashboard's routes, the EMR integration on its own, and the admin
    # function's roles on theirs: each is refused (403) on the others'.
    if case.headers is None:
        case.headers = {}
    path = case.operation.path
    if path.startswith("/fhir"):
        case.headers["Authorization"] = FHIR_AUTHORIZATION
    elif path != UNLOCK_PATH:
        token = AUTHORIZATION["Authorization"]
        for prefix, role_token in ROLE_ROUTES:
            if path == prefix or path.startswith(prefix + "/"):
                token = role_token
        case.headers["Authorization"] = token


def _one_key_per_send(case):
    # Generated keys repeat ("0", "A") across different requests, which the API rightly
    # refuses (422) before reaching any other rule. Like the dashboard, give each distinct
    # request its own key, and a repeat of the same request the same key (a retry); keys
    # that break the header's rules are left for the API to refuse.
    if case.operation.path != SEND_PATH or case.headers is None:
        return
    key = case.headers.get("Idempotency-Key")
    if not isinstance(key, str) or not re.fullmatch(r"[!-~]{1,128}", key):
        return
    request = json.dumps([case.path_parameters, case.body], sort_keys=True, default=str)
    digest = hashlib.sha256(request.encode()).hexdigest()
    case.headers["Idempotency-Key"] = f"contract-{digest[:32]}"
