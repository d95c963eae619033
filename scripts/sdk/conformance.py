"""Drives the iocsync emulator through Trend Micro's official Python SDKs.

pytmv1 0.11.0 (Vision One) and deep-security-api 20.0.463 (Deep Security) are the reference
clients: every call below must behave exactly as the SDK expects of the real service
(status codes, 207 bodies, nextLink paging with the filter header on every page, error
objects, response models, block-list tasks and how they fail). Apex Central has no SDK: its
checks sign requests with PyJWT exactly as Trend's Automation API sample does (the
create_checksum / create_jwt_token reproduced in XSOAR's TrendMicroApex.py) and send them
with requests, as that integration does. Each check
prints PASS or FAIL with the reason; the last line is "N passed, N failed" and the exit
status is non-zero when anything failed.

Inputs (environment): EMULATOR_URL (http://127.0.0.1:PORT), EMULATOR_KEY (full key),
EMULATOR_READ_ONLY_KEY (read-only key), EMULATOR_APEX_APP and EMULATOR_APEX_KEY (an Apex
Central application and its API key). Keys come from the environment, never argv.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import sys
import time
import traceback
import urllib.request
from typing import Any, Callable, Dict, List, Optional

import deepsecurity
import jwt
import pytmv1
import requests
import pytmv1.utils
from deepsecurity.rest import ApiException
from pytmv1.model.enum import Api, QueryOp
from pytmv1.model.response import ListSuspiciousResp

BASE = os.environ["EMULATOR_URL"].rstrip("/")
KEY = os.environ["EMULATOR_KEY"]
READ_ONLY = os.environ["EMULATOR_READ_ONLY_KEY"]
APEX_APP = os.environ["EMULATOR_APEX_APP"]
APEX_KEY = os.environ["EMULATOR_APEX_KEY"]
API_VERSION = "v1"
UDSO = "/WebApp/api/SuspiciousObjects/UserDefinedSO"

CHECKS: List[Callable[[], None]] = []

# pytmv1 logs every failed call with a traceback; the failures here are expected ones.
logging.getLogger("pytmv1").addHandler(logging.NullHandler())
logging.getLogger("pytmv1").propagate = False


def check(func: Callable[[], None]) -> Callable[[], None]:
    CHECKS.append(func)
    return func


class Mismatch(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Mismatch(message)


def control(method: str, path: str, body: Any = None) -> Any:
    """Calls an /_emulator/* endpoint (no credentials needed)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        BASE + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def reset() -> None:
    control("POST", "/_emulator/reset")


def v1(token: str = KEY) -> pytmv1.Client:
    # pytmv1 appends /v3.0 to the base URL and accepts plain http.
    return pytmv1.init("iocsync-conformance", token, BASE)


def suspicious(kind: pytmv1.ObjectType, value: str, **kwargs: Any) -> Any:
    return pytmv1.SuspiciousObjectRequest(
        object_type=kind, object_value=value, **kwargs
    )


def obj(kind: pytmv1.ObjectType, value: str) -> Any:
    return pytmv1.ObjectRequest(object_type=kind, object_value=value)


DS_CLIENTS: List[deepsecurity.ApiClient] = []


def ds(key: str = KEY) -> deepsecurity.IPListsApi:
    configuration = deepsecurity.Configuration()
    configuration.host = BASE + "/api"
    configuration.api_key["api-secret-key"] = key
    client = deepsecurity.ApiClient(configuration)
    DS_CLIENTS.append(client)
    return deepsecurity.IPListsApi(client)


class _ClosedPool:
    def close(self) -> None:
        pass

    def join(self) -> None:
        pass


def close_ds_clients() -> None:
    # The SDK closes its thread pool in __del__, which fails at interpreter exit.
    for client in DS_CLIENTS:
        client.pool.close()
        client.pool.join()
        client.pool = _ClosedPool()


def api_error(call: Callable[[], Any]) -> ApiException:
    try:
        call()
    except ApiException as exc:
        return exc
    raise Mismatch("expected an ApiException, the call succeeded")


def message_of(exc: ApiException) -> str:
    return json.loads(exc.body)["message"]


# --- Vision One through pytmv1 ---------------------------------------------------------


@check
def v1_connectivity() -> None:
    reset()
    result = v1().system.check_connectivity()
    expect(result.result_code == pytmv1.ResultCode.SUCCESS, f"{result}")
    expect(result.response.status == "available", f"{result.response}")


@check
def v1_add_and_list_suspicious() -> None:
    reset()
    client = v1()
    result = client.object.add_suspicious(
        suspicious(
            pytmv1.ObjectType.URL,
            "http://bad.example/x",
            description="conformance",
            risk_level=pytmv1.RiskLevel.HIGH,
            scan_action=pytmv1.ScanAction.BLOCK,
            days_to_expiration=30,
        ),
        suspicious(pytmv1.ObjectType.IP, "198.51.100.7"),
        suspicious(pytmv1.ObjectType.DOMAIN, "bad.example", days_to_expiration=-1),
    )
    expect(result.result_code == pytmv1.ResultCode.SUCCESS, f"add: {result}")
    expect([i.status for i in result.response.items] == [201, 201, 201], f"{result}")
    listed = client.object.list_suspicious()
    expect(listed.result_code == pytmv1.ResultCode.SUCCESS, f"list: {listed}")
    by_value = {o.value: o for o in listed.response.items}
    expect(set(by_value) == {"http://bad.example/x", "198.51.100.7", "bad.example"}, f"{by_value}")
    url = by_value["http://bad.example/x"]
    expect(url.type == pytmv1.ObjectType.URL and url.risk_level == pytmv1.RiskLevel.HIGH, f"{url}")
    expect(url.description == "conformance" and not url.in_exception_list, f"{url}")
    never = by_value["bad.example"]
    expect(never.expired_date_time.startswith("9999-12-31"), f"{never}")
    expect(listed.response.next_link is None, "no nextLink on a single page")


@check
def v1_paging_through_next_link() -> None:
    reset()
    client = v1()
    batch = [suspicious(pytmv1.ObjectType.IP, f"10.1.{i // 256}.{i % 256}") for i in range(230)]
    added = client.object.add_suspicious(*batch)
    expect(added.result_code == pytmv1.ResultCode.SUCCESS, f"{added.errors[:3]}")
    before = control("GET", "/_emulator/requests")["endpoints"]
    gets_before = before.get("GET /v3.0/threatintel/suspiciousObjects", {}).get("requests", 0)
    seen: List[str] = []
    consumed = client.object.consume_suspicious(lambda o: seen.append(o.value))
    expect(consumed.result_code == pytmv1.ResultCode.SUCCESS, f"{consumed}")
    expect(consumed.response.total_consumed == 230, f"consumed {consumed.response}")
    expect(len(set(seen)) == 230, f"{len(set(seen))} distinct values")
    after = control("GET", "/_emulator/requests")["endpoints"]
    pages = after["GET /v3.0/threatintel/suspiciousObjects"]["requests"] - gets_before
    expect(pages == 3, f"expected 3 pages of 100, the SDK fetched {pages}")


@check
def v1_partial_failure() -> None:
    reset()
    client = v1()
    result = client.object.add_suspicious(
        suspicious(pytmv1.ObjectType.IP, "203.0.113.9"),
        suspicious(pytmv1.ObjectType.IP, "203.0.113.0/24"),
        suspicious(pytmv1.ObjectType.FILE_SHA1, "not-a-sha1"),
    )
    expect(result.result_code == pytmv1.ResultCode.ERROR, f"{result}")
    statuses = [e.status for e in result.errors]
    expect(statuses == [201, 400, 400], f"{statuses}")
    bad = result.errors[1]
    expect(bad.code == "BadRequest" and "ip" in (bad.message or ""), f"{bad}")
    listed = client.object.list_suspicious().response.items
    expect([o.value for o in listed] == ["203.0.113.9"], "the valid item was applied")


@check
def v1_item_500_fault() -> None:
    reset()
    control("POST", "/_emulator/faults", {"item_error_rate": 1.0})
    try:
        result = v1().object.add_suspicious(suspicious(pytmv1.ObjectType.IP, "192.0.2.1"))
    finally:
        control("POST", "/_emulator/faults", {})
    expect(result.result_code == pytmv1.ResultCode.ERROR, f"{result}")
    expect(result.errors[0].status == 500, f"{result.errors}")
    expect(result.errors[0].code == "InternalServerError", f"{result.errors}")


@check
def v1_delete_suspicious() -> None:
    reset()
    client = v1()
    client.object.add_suspicious(suspicious(pytmv1.ObjectType.DOMAIN, "gone.example"))
    deleted = client.object.delete_suspicious(obj(pytmv1.ObjectType.DOMAIN, "gone.example"))
    expect(deleted.result_code == pytmv1.ResultCode.SUCCESS, f"{deleted}")
    expect([i.status for i in deleted.response.items] == [204], f"{deleted}")
    again = client.object.delete_suspicious(obj(pytmv1.ObjectType.DOMAIN, "gone.example"))
    expect(again.result_code == pytmv1.ResultCode.ERROR, f"{again}")
    expect(again.errors[0].status == 404 and again.errors[0].code == "NotFound", f"{again.errors}")
    expect(client.object.list_suspicious().response.items == [], "list is empty")


@check
def v1_exceptions() -> None:
    reset()
    client = v1()
    added = client.object.add_exception(
        pytmv1.ObjectRequest(object_type=pytmv1.ObjectType.DOMAIN, object_value="*.example.com", description="ours"),
        obj(pytmv1.ObjectType.URL, "https://*.example.com/path/*"),
    )
    expect(added.result_code == pytmv1.ResultCode.SUCCESS, f"{added}")
    listed = client.object.list_exception()
    expect(listed.result_code == pytmv1.ResultCode.SUCCESS, f"{listed}")
    values = sorted(e.value for e in listed.response.items)
    expect(values == ["*.example.com", "https://*.example.com/path/*"], f"{values}")
    seen: List[str] = []
    consumed = client.object.consume_exception(lambda e: seen.append(e.value))
    expect(consumed.response.total_consumed == 2, f"{consumed}")
    client.object.add_suspicious(suspicious(pytmv1.ObjectType.DOMAIN, "www.example.com"))
    flagged = client.object.list_suspicious().response.items[0]
    expect(flagged.in_exception_list, f"{flagged}")
    deleted = client.object.delete_exception(obj(pytmv1.ObjectType.DOMAIN, "*.example.com"))
    expect(deleted.result_code == pytmv1.ResultCode.SUCCESS, f"{deleted}")


def block_task(client: pytmv1.Client, task_id: str) -> Any:
    """The task's result as pytmv1 reads a block-list task (BlockListTaskResp), polled."""
    return client.task.get_result_class(
        task_id, pytmv1.BlockListTaskResp, poll=True, poll_time_sec=30
    )


@check
def v1_block_list_task() -> None:
    reset()
    client = v1()
    added = client.object.add_block(obj(pytmv1.ObjectType.IP, "192.0.2.66"))
    expect(added.result_code == pytmv1.ResultCode.SUCCESS, f"{added}")
    item = added.response.items[0]
    expect(item.status == 202 and item.task_id, f"{item}")
    task = block_task(client, item.task_id)
    expect(task.result_code == pytmv1.ResultCode.SUCCESS, f"{task}")
    expect(task.response.status == pytmv1.Status.SUCCEEDED, f"{task.response}")
    expect(task.response.action == "block" and task.response.error is None, f"{task.response}")
    expect(task.response.type == pytmv1.ObjectType.IP, f"{task.response}")
    expect(task.response.value == "192.0.2.66", f"{task.response}")
    values = [o.value for o in client.object.list_suspicious().response.items]
    expect(values == ["192.0.2.66"], f"blocked value listed: {values}")
    removed = client.object.delete_block(obj(pytmv1.ObjectType.IP, "192.0.2.66"))
    expect(removed.result_code == pytmv1.ResultCode.SUCCESS, f"{removed}")
    restore = removed.response.items[0]
    expect(restore.status == 202 and restore.task_id != item.task_id, f"{restore}")
    undone = block_task(client, restore.task_id)
    expect(undone.result_code == pytmv1.ResultCode.SUCCESS, f"{undone}")
    expect(undone.response.status == pytmv1.Status.SUCCEEDED, f"{undone.response}")
    expect(undone.response.action == "restoreBlock", f"{undone.response}")
    expect(client.object.list_suspicious().response.items == [], "restored value gone")


@check
def v1_block_list_task_failures() -> None:
    reset()
    outcomes = {
        "192.0.2.71": "failed",
        "192.0.2.72": "rejected",
        "192.0.2.73": "canceled",
        "192.0.2.74": "pendingApproval",
    }
    control("POST", "/_emulator/faults", {"response_task_outcomes": outcomes})
    client = v1()
    added = client.object.add_block(*(obj(pytmv1.ObjectType.IP, v) for v in outcomes))
    expect(added.result_code == pytmv1.ResultCode.SUCCESS, f"{added}")
    statuses = []
    for item in added.response.items:
        task = block_task(client, item.task_id)
        expect(task.result_code == pytmv1.ResultCode.SUCCESS, f"{task}")
        statuses.append(task.response.status)
        if task.response.status == pytmv1.Status.FAILED:
            error = task.response.error
            expect(error is not None and error.code == "TaskError", f"{task.response}")
            expect(error.number == 4009999 and error.message, f"{error}")
    expected = [
        pytmv1.Status.FAILED,
        pytmv1.Status.REJECTED,
        pytmv1.Status.CANCELED,
        pytmv1.Status.PENDING_APPROVAL,
    ]
    expect(statuses == expected, f"{statuses}")
    expect(client.object.list_suspicious().response.items == [], "nothing blocked")


@check
def v1_block_list_duplicate_and_unknown_restore() -> None:
    reset()
    control("POST", "/_emulator/faults", {"response_task_outcomes": {"192.0.2.81": "pendingApproval"}})
    client = v1()
    first = client.object.add_block(obj(pytmv1.ObjectType.IP, "192.0.2.81"))
    expect(first.result_code == pytmv1.ResultCode.SUCCESS, f"{first}")
    again = client.object.add_block(obj(pytmv1.ObjectType.IP, "192.0.2.81"))
    expect(again.result_code == pytmv1.ResultCode.ERROR, f"{again}")
    duplicate = again.errors[0]
    expect(duplicate.status == 400 and duplicate.code == "TaskError", f"{duplicate}")
    expect(duplicate.message == "Task duplication.", f"{duplicate}")
    expect(duplicate.task_id == first.response.items[0].task_id, f"{duplicate}")
    unknown = client.object.delete_block(obj(pytmv1.ObjectType.DOMAIN, "never-blocked.example"))
    expect(unknown.result_code == pytmv1.ResultCode.ERROR, f"{unknown}")
    missing = unknown.errors[0]
    expect(missing.status == 400 and missing.message == "Target not found.", f"{missing}")


@check
def v1_filter_on_every_page() -> None:
    reset()
    client = v1()
    # Older than every IP, so (newest first) they follow the IPs: a page asked for without
    # the filter would bring them back.
    client.object.add_suspicious(suspicious(pytmv1.ObjectType.DOMAIN, "a.example"))
    batch = [suspicious(pytmv1.ObjectType.IP, f"10.2.{i // 256}.{i % 256}") for i in range(150)]
    expect(client.object.add_suspicious(*batch).result_code == pytmv1.ResultCode.SUCCESS, "added")
    seen: List[str] = []
    # pytmv1 0.11 has no filtered consume for suspicious objects; its filtered consumers
    # (alerts, API keys) call send_linkable with the TMV1-Filter header exactly like this.
    consumed = client._core.send_linkable(
        ListSuspiciousResp,
        Api.GET_SUSPICIOUS_OBJECTS,
        lambda o: seen.append(o.value),
        headers=pytmv1.utils.tmv1_filter(QueryOp.AND, {"type": "ip"}),
    )
    expect(consumed.result_code == pytmv1.ResultCode.SUCCESS, f"{consumed}")
    expect(len(seen) == 150 and "a.example" not in seen, f"{len(seen)} values: {seen[-3:]}")


@check
def v1_401_wrong_token() -> None:
    reset()
    result = v1("not-a-valid-token").system.check_connectivity()
    expect(result.result_code == pytmv1.ResultCode.ERROR, f"{result}")
    expect(result.error.status == 401 and result.error.code == "InvalidCredentials", f"{result.error}")


@check
def v1_403_read_only() -> None:
    reset()
    client = v1(READ_ONLY)
    expect(client.object.list_suspicious().result_code == pytmv1.ResultCode.SUCCESS, "reads work")
    result = client.object.add_suspicious(suspicious(pytmv1.ObjectType.IP, "192.0.2.5"))
    expect(result.result_code == pytmv1.ResultCode.ERROR, f"{result}")
    error = result.errors[0]
    expect(error.status == 403 and error.code == "AccessDenied", f"{error}")


@check
def v1_429() -> None:
    reset()
    control("POST", "/_emulator/faults", {"burst_429": 1})
    result = v1().system.check_connectivity()
    expect(result.result_code == pytmv1.ResultCode.ERROR, f"{result}")
    expect(result.error.status == 429 and result.error.code == "TooManyRequests", f"{result.error}")
    expect(result.error.number == 4290102, f"{result.error}")
    expect(v1().system.check_connectivity().result_code == pytmv1.ResultCode.SUCCESS, "recovers")


# --- Deep Security through deep-security-api ------------------------------------------------


@check
def ds_builtin_lists() -> None:
    reset()
    lists = ds().list_ip_lists(API_VERSION).ip_lists
    expect([l.id for l in lists] == [1, 2, 3, 4, 5, 6], f"{[l.id for l in lists]}")
    expect(all(l.name for l in lists), "every list has a name")


@check
def ds_crud() -> None:
    reset()
    api = ds()
    created = api.create_ip_list(
        deepsecurity.IpList(name="iocsync blocked", description="conformance", items=["192.0.2.1", "198.51.100.0/24", "10.0.0.1 - 10.0.0.9 #range"]),
        API_VERSION,
    )
    expect(created.id == 7 and created.items[1] == "198.51.100.0/24", f"{created}")
    described = api.describe_ip_list(created.id, API_VERSION)
    expect(described.to_dict() == created.to_dict(), f"{described}")
    modified = api.modify_ip_list(created.id, deepsecurity.IpList(items=["203.0.113.7"]), API_VERSION)
    expect(modified.name == "iocsync blocked" and modified.items == ["203.0.113.7"], f"{modified}")
    api.delete_ip_list(created.id, API_VERSION)
    gone = api_error(lambda: api.describe_ip_list(created.id, API_VERSION))
    expect(gone.status == 404 and message_of(gone) == "The IP list does not exist.", f"{gone}")


@check
def ds_search() -> None:
    reset()
    api = ds()
    api.create_ip_list(deepsecurity.IpList(name="Blocked_IPs"), API_VERSION)
    api.create_ip_list(deepsecurity.IpList(name="Blocked IPs"), API_VERSION)
    exact = deepsecurity.SearchFilter(
        max_items=100,
        search_criteria=[deepsecurity.SearchCriteria(field_name="name", string_test="equal", string_value="Blocked_IPs", string_wildcards=False)],
    )
    found = api.search_ip_lists(API_VERSION, search_filter=exact).ip_lists
    expect([l.name for l in found] == ["Blocked_IPs"], f"{[l.name for l in found]}")
    ids: List[int] = []
    last = 0
    while True:
        page = deepsecurity.SearchFilter(
            max_items=3,
            search_criteria=[deepsecurity.SearchCriteria(id_value=last, id_test="greater-than")],
            sort_by_object_id=True,
        )
        lists = api.search_ip_lists(API_VERSION, search_filter=page).ip_lists
        if not lists:
            break
        ids.extend(l.id for l in lists)
        last = lists[-1].id
    expect(ids == list(range(1, 9)), f"{ids}")


@check
def ds_invalid_item() -> None:
    reset()
    err = api_error(lambda: ds().create_ip_list(deepsecurity.IpList(name="bad", items=["10.0.0.0/33"]), API_VERSION))
    expect(err.status == 400 and "10.0.0.0/33" in message_of(err), f"{err}")


@check
def ds_401_403_429() -> None:
    reset()
    unauthorized = api_error(lambda: ds("wrong-key").list_ip_lists(API_VERSION))
    expect(unauthorized.status == 401 and message_of(unauthorized) == "Invalid API Key", f"{unauthorized}")
    forbidden = api_error(lambda: ds(READ_ONLY).create_ip_list(deepsecurity.IpList(name="x"), API_VERSION))
    expect(forbidden.status == 403, f"{forbidden}")
    expect(len(ds(READ_ONLY).list_ip_lists(API_VERSION).ip_lists) == 6, "read-only key can read")
    control("POST", "/_emulator/faults", {"burst_429": 1})
    limited = api_error(lambda: ds().list_ip_lists(API_VERSION))
    expect(limited.status == 429 and message_of(limited) == "Too many API requests.", f"{limited}")
    headers: Dict[str, str] = {k.lower(): v for k, v in limited.headers.items()}
    expect("retry-after" not in headers and "x-dsm-version" in headers, f"{headers}")


def apex_checksum(http_method: str, api_path: str, headers: str, request_body: str) -> str:
    """Trend's create_checksum, as XSOAR's TrendMicroApex.py has it."""
    string_to_hash = http_method.upper() + "|" + api_path.lower() + "|" + headers + "|" + request_body
    return base64.b64encode(hashlib.sha256(str.encode(string_to_hash)).digest()).decode("utf-8")


def apex_token(http_method: str, api_path: str, request_body: str, iat: Optional[float], key: str) -> str:
    """Trend's create_jwt_token: HS256, iat a float from time.time()."""
    payload = {
        "appid": APEX_APP,
        "iat": time.time() if iat is None else iat,
        "version": "V1",
        "checksum": apex_checksum(http_method, api_path, "", request_body),
    }
    return jwt.encode(payload, key, algorithm="HS256")


def apex(method: str, api_path: str, body: Any = None, iat: Optional[float] = None, key: str = APEX_KEY) -> Any:
    """One request the way XSOAR sends it: the query unescaped in api_path, the body json.dumps'd."""
    request_body = "" if body is None else json.dumps(body)
    headers = {"Authorization": "Bearer " + apex_token(method, api_path, request_body, iat, key)}
    if body is not None:
        headers["Content-Type"] = "application/json;charset=utf-8"
    response = requests.request(method, BASE + api_path, headers=headers, data=request_body or None, timeout=10)
    return response.status_code, response.json()


@check
def apex_udso_add_list_delete_as_xsoar() -> None:
    reset()
    param = {"type": "ip", "content": "8.8.8.8", "notes": "Documentation", "scan_action": "log", "expiration_utc_date": ""}
    status, body = apex("PUT", UDSO + "/", {"param": param})
    expect(status == 200 and body["Meta"]["ErrorCode"] == 0, f"add: {status} {body}")
    expect(body["PermissionCtrl"]["permission"] == "255", f"{body}")
    sha1 = {"type": "file_sha1", "content": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "notes": "", "scan_action": "quarantine"}
    status, body = apex("PUT", UDSO + "/", {"param": sha1})
    expect(status == 200 and body["Meta"]["ErrorCode"] == 0, f"add sha1: {status} {body}")
    # XSOAR's connection test and udso_list: both parameters, even when empty.
    status, body = apex("GET", UDSO + "?type=&contentFilter=")
    expect(status == 200 and body["Meta"]["Result"] == 1, f"list: {status} {body}")
    expected = {"type": "ip", "content": "8.8.8.8", "notes": "Documentation", "scan_action": "log", "expiration_utc_date": None}
    expect(expected in body["Data"] and len(body["Data"]) == 2, f"{body['Data']}")
    status, body = apex("GET", UDSO + "?type=file_sha1&contentFilter=A94A8FE5")
    expect([item["content"] for item in body["Data"]] == ["A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"], f"{body}")
    status, body = apex("DELETE", UDSO + "?type=ip&content=8.8.8.8")
    expect(status == 200 and body["Meta"]["ErrorCode"] == 0, f"delete: {status} {body}")
    status, body = apex("GET", UDSO + "?type=ip&contentFilter=")
    expect(body["Data"] == [], f"after delete: {body}")


@check
def apex_refusals_as_documented() -> None:
    reset()
    status, body = apex("GET", UDSO + "?type=&contentFilter=", iat=time.time() - 3600)
    expect(status == 401 and body["Meta"]["ErrorCode"] == 18, f"stale iat: {status} {body}")
    status, body = apex("GET", UDSO + "?type=&contentFilter=", key=APEX_KEY + "-wrong")
    expect(status == 401 and body["Meta"]["ErrorCode"] == 19, f"wrong key: {status} {body}")
    param = {"type": "ip", "content": "8.8.8.8", "notes": "", "scan_action": "quarantine"}
    status, body = apex("PUT", UDSO + "/", {"param": param})
    expect(status == 400 and body["Meta"]["ErrorCode"] == 7, f"quarantine for an ip: {status} {body}")
    status, body = apex("DELETE", UDSO + "?type=ip&content=8.8.4.4")
    expect(status == 500 and body["Meta"]["ErrorMsg"] == "Data not found", f"absent: {status} {body}")


def main() -> int:
    passed = failed = 0
    for func in CHECKS:
        try:
            func()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
            failed += 1
            detail = str(exc) if isinstance(exc, Mismatch) else traceback.format_exc()
            print(f"FAIL {func.__name__}: {detail}")
        else:
            passed += 1
            print(f"PASS {func.__name__}")
    close_ds_clients()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
