"""Verifying customers against a registry snapshot and a registry HTTP API served by the test itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from riskdesk.security.permissions import Role
from riskdesk.verification.registry import HttpRegistryProvider, RegistryUnavailable
from tests.conftest import company_payload, new_uscc

Headers = Callable[[Role], dict[str, str]]


def snapshot_line(uscc: str, **changes: Any) -> str:
    values = {
        "uscc": uscc,
        "name": "杭州测试科技有限公司",
        "legal_representative": "王芳",
        "status": "存续",
        "registered_capital": "500万元人民币",
    }
    values.update(changes)
    return json.dumps(values, ensure_ascii=False)


@pytest.fixture
def officer(token_for: Headers) -> dict[str, str]:
    return token_for(Role.credit_officer)


def import_snapshot(client: TestClient, headers: dict[str, str], lines: list[str]) -> None:
    response = client.post(
        "/api/v1/registry/import",
        headers=headers,
        files={"file": ("registry.jsonl", "\n".join(lines).encode(), "application/json")},
    )
    assert response.status_code == 200, response.text


def create(client: TestClient, headers: dict[str, str], **changes: Any) -> int:
    payload = company_payload(name="杭州测试科技有限公司", **changes)
    response = client.post("/api/v1/customers", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_matching_registry_record_passes(client: TestClient, officer: dict[str, str], token_for: Headers) -> None:
    code = new_uscc()
    import_snapshot(client, token_for(Role.compliance_officer), [snapshot_line(code)])
    customer_id = create(client, officer, uscc=code)
    check = client.post(f"/api/v1/customers/{customer_id}/verifications", headers=officer).json()
    assert (check["outcome"], check["findings"]) == ("passed", [])
    assert check["source"] == "snapshot:registry.jsonl"
    history = client.get(f"/api/v1/customers/{customer_id}/verifications", headers=officer).json()
    assert [c["id"] for c in history] == [check["id"]]
    assert client.get(f"/api/v1/customers/{customer_id}/timeline", headers=officer).json()[0]["action"] == (
        "verification.completed"
    )


@pytest.mark.parametrize(
    ("changes", "outcome", "field"),
    [
        ({"legal_representative": "李娜"}, "passed_with_findings", "legal_representative"),
        ({"status": "吊销，未注销"}, "failed", "status"),
    ],
)
def test_differences_become_findings_and_set_the_outcome(
    client: TestClient, officer: dict[str, str], token_for: Headers, changes: dict[str, Any], outcome: str, field: str
) -> None:
    code = new_uscc()
    import_snapshot(client, token_for(Role.compliance_officer), [snapshot_line(code, **changes)])
    check = client.post(f"/api/v1/customers/{create(client, officer, uscc=code)}/verifications", headers=officer).json()
    assert check["outcome"] == outcome
    assert [f["field"] for f in check["findings"]] == [field]


def test_a_code_the_registry_does_not_know_fails(client: TestClient, officer: dict[str, str]) -> None:
    check = client.post(f"/api/v1/customers/{create(client, officer)}/verifications", headers=officer).json()
    assert check["outcome"] == "failed"
    assert "has no company with this code" in check["findings"][0]["message"]


def test_a_malformed_snapshot_is_refused_whole(client: TestClient, token_for: Headers) -> None:
    response = client.post(
        "/api/v1/registry/import",
        headers=token_for(Role.compliance_officer),
        files={
            "file": (
                "r.jsonl",
                (snapshot_line(new_uscc()) + "\n{broken\n" + json.dumps({"name": "x"})).encode(),
                "application/json",
            )
        },
    )
    assert response.status_code == 422
    assert [d["line"] for d in response.json()["details"]] == [2, 3]


class Registry(BaseHTTPRequestHandler):
    """A Tianyancha-style registry: {"result": {...}} by code; failures on demand."""

    records: ClassVar[dict[str, dict[str, Any]]] = {}
    failures: ClassVar[list[int]] = []
    calls: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        code = self.path.rsplit("=", 1)[-1]
        type(self).calls.append(code)
        if type(self).failures:
            self.send_response(type(self).failures.pop(0))
            self.end_headers()
            return
        record = type(self).records.get(code)
        body = json.dumps({"error_code": 0 if record else 300000, "result": record}, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def registry_server() -> Iterator[str]:
    Registry.records, Registry.failures, Registry.calls = {}, [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


FIELDS = {
    "name": "result.name",
    "uscc": "result.creditCode",
    "legal_representative": "result.legalPersonName",
    "status": "result.regStatus",
    "registered_capital": "result.regCapital",
    "established_on": "result.estiblishTime",
    "former_names": "result.historyNameList",
}


def provider(url: str, **overrides: Any) -> HttpRegistryProvider:
    values: dict[str, Any] = {
        "url": url + "/ic/baseinfo?code={uscc}",
        "fields": FIELDS,
        "found_path": "result",
        "backoff_seconds": 0.0,
        "max_per_second": 1000.0,
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    return HttpRegistryProvider(**values)


def test_http_provider_maps_the_answer_retries_and_caches(registry_server: str) -> None:
    code = new_uscc()
    Registry.records[code] = {
        "name": "杭州测试科技有限公司",
        "creditCode": code,
        "legalPersonName": "王芳",
        "regStatus": "存续",
        "regCapital": "500万人民币",
        "estiblishTime": 1425254400000,
        "historyNameList": ["杭州旧名有限公司"],
    }
    Registry.failures = [503, 500]
    registry = provider(registry_server)
    record = registry.lookup(code)
    assert record is not None
    assert (record.legal_representative, str(record.registered_capital), record.former_names) == (
        "王芳",
        "5000000",
        ("杭州旧名有限公司",),
    )
    assert len(Registry.calls) == 3  # two failures retried, then the answer
    registry.lookup(code)
    assert len(Registry.calls) == 3  # served from the cache
    assert registry.lookup(new_uscc()) is None  # the registry answered: no such company


def test_http_provider_that_keeps_failing_is_unavailable(registry_server: str) -> None:
    Registry.failures = [500, 502, 503]
    with pytest.raises(RegistryUnavailable, match="after 3 attempts"):
        provider(registry_server).lookup(new_uscc())
    with pytest.raises(RegistryUnavailable):
        provider("http://127.0.0.1:9", retries=0).lookup(new_uscc())


def test_an_unreachable_registry_makes_the_check_incomplete_never_passed(
    client: TestClient, officer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = client.app.state.container  # type: ignore[attr-defined]
    monkeypatch.setitem(container.__dict__, "http_registry", provider("http://127.0.0.1:9", retries=1))
    check = client.post(f"/api/v1/customers/{create(client, officer)}/verifications", headers=officer).json()
    assert check["outcome"] == "incomplete"
    assert check["reasons"][-1].startswith("incomplete:")


def test_an_error_envelope_is_unavailable_unless_it_means_not_found(registry_server: str) -> None:
    code = new_uscc()
    registry = provider(registry_server, error_path="error_code", not_found_codes=("300000",))
    assert registry.lookup(code) is None  # error 300000: no such company
    Registry.records[code] = {"name": "x", "creditCode": code, "regCapital": True, "estiblishTime": 10**20}
    with pytest.raises(RegistryUnavailable, match="cannot read"):
        provider(registry_server).lookup(code)


def test_an_answer_about_another_company_makes_the_check_incomplete(
    client: TestClient, officer: dict[str, str], registry_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = create(client, officer)
    other = new_uscc()

    class Search(Registry):
        def do_GET(self) -> None:
            body = json.dumps({"result": {"name": "别家公司", "creditCode": other}}, ensure_ascii=False).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

    Registry.records = {}
    container = client.app.state.container  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Search)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setitem(
            container.__dict__, "http_registry", provider(f"http://127.0.0.1:{server.server_address[1]}")
        )
        check = client.post(f"/api/v1/customers/{customer_id}/verifications", headers=officer).json()
    finally:
        server.shutdown()
        server.server_close()
    assert check["outcome"] == "incomplete"
    assert "another company" in check["reasons"][-1]


def test_http_provider_keeps_to_its_rate_limit_and_backs_off(registry_server: str) -> None:
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    Registry.failures = [503]
    registry = provider(
        registry_server, max_per_second=2.0, backoff_seconds=0.5, cache_seconds=0, sleep=sleep, clock=lambda: now[0]
    )
    registry.lookup(new_uscc())  # a 503, a back-off of 0.5 s, then the answer
    registry.lookup(new_uscc())  # right after: waits for its turn at 2 calls a second
    assert slept[0] == 0.5
    assert slept[1:] == [0.5]  # the second call waited for its slot
    assert len(Registry.calls) == 3
