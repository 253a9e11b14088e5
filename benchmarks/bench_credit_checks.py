"""Credit-check API under load on loopback: requests per second and p50/p99 latency of ``POST /api/v1/credit-checks``
next to ``GET /healthz`` of the same server (the floor of the web stack: routing, middleware, JSON, one process).

Each credit check reads the limit (locked), the customer's open items and reservations, converts currencies, stores
the decision record and appends it to the hash-chained ledger, all in one transaction. The server is
``riskdesk serve`` (uvicorn, one worker on SQLite; one and two workers on PostgreSQL) in a subprocess; the load
generator is an asyncio httpx client with a fixed number of requests in flight, on the same 2-core machine — so it
competes with the server for CPU, and the figures are a floor.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.bench_foundation import container_for, databases
from riskdesk.audit.service import Actor
from riskdesk.credit import exposure, proposals
from riskdesk.customers import service as customers
from riskdesk.customers.schemas import CUSTOMER_CREATE
from riskdesk.demo.portfolio import build
from riskdesk.security import service as security
from riskdesk.security.permissions import Role

CUSTOMERS = int(os.environ.get("RISKDESK_BENCH_CHECK_CUSTOMERS", "200"))
REQUESTS = int(os.environ.get("RISKDESK_BENCH_CHECKS", "3000"))
IN_FLIGHT = 16
ACTOR = Actor("bench")


def seed(url: str, customers_count: int = CUSTOMERS) -> str:
    """Customers with approved limits and open items; returns a credit officer's bearer token."""
    container = container_for(url)
    today = date.today()
    book = build(seed=11, companies=customers_count, individuals=0, owners=[])
    with container.session_factory.begin() as session:
        for username, role in (("officer", Role.credit_officer), ("committee", Role.approver)):
            security.create_user(
                session,
                username=username,
                role=role,
                password="benchmark-password",  # noqa: S106 - a throwaway user of a throwaway database
                passwords=container.passwords,
                min_length=8,
                actor=ACTOR,
            )
        security.set_approval_level(session, username="committee", level=3, actor=ACTOR)
        _, token = security.create_token(
            session, username="officer", days=1, actor=ACTOR, pepper=container.token_pepper
        )
        exposure.load_rates(
            session,
            rates=[exposure.RateIn(currency="USD", rate=Decimal("7.1"), valid_on=today)],
            base="CNY",
            actor=ACTOR,
        )
        for number, payload in enumerate(book.companies):
            customer = customers.create_customer(
                session,
                data=CUSTOMER_CREATE.validate_python(payload | {"status": "active"}),
                keyring=container.keyring,
                actor=ACTOR,
            )
            proposal = proposals.propose(
                session,
                customer_id=customer.id,
                data=proposals.ProposalIn(
                    grade="4",
                    limit_amount=Decimal(50_000_000),
                    payment_days=60,
                    effective_from=today,
                    expires_on=today + timedelta(days=365),
                ),
                actor=Actor("officer"),
            )
            proposals.decide(
                session,
                proposal_id=proposal.id,
                decision="approve",
                reason="benchmark",
                policy=container.credit_policy,
                actor=Actor("committee"),
            )
            exposure.record_items(
                session,
                items=[
                    exposure.ItemIn(
                        customer_id=customer.id,
                        kind=kind,
                        reference=f"{kind}-{number}",
                        currency="USD" if kind == "delivery" else "CNY",
                        open_amount=Decimal(100_000),
                        document_date=today - timedelta(days=20),
                        due_on=today + timedelta(days=40) if kind == "invoice" else None,
                    )
                    for kind in ("order", "delivery", "invoice")
                ],
                base="CNY",
                actor=ACTOR,
            )
    container.dispose()
    return token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "RISKDESK_DATABASE_URL": url, "RISKDESK_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "riskdesk"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


async def load(base: str, token: str, *, checks: bool, count: int, offset: int = 0) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    queue = iter(range(offset, offset + count))

    async def worker(client: httpx.AsyncClient) -> None:
        for n in queue:
            start = time.perf_counter()
            if checks:
                body = {
                    "customer_id": n % CUSTOMERS + 1,
                    "amount": "1000.00",
                    "currency": "USD" if n % 5 == 0 else "CNY",
                    "reference": f"SO-{n}",
                }
                response = await client.post("/api/v1/credit-checks", json=body)
                outcome = response.json().get("decision", str(response.status_code))
            else:
                response = await client.get("/healthz")
                outcome = str(response.status_code)
            latencies.append(time.perf_counter() - start)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": count / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "outcomes": outcomes,  # type: ignore[dict-item]
    }


def run() -> list[dict[str, Any]]:
    rows = []
    with databases() as factories:
        for backend, factory in factories:
            for workers in (1, 2) if backend == "PostgreSQL" else (1,):
                url = factory()
                token = seed(url)
                server, base = start_server(url, workers)
                try:
                    asyncio.run(load(base, token, checks=True, count=200, offset=10**6))  # warm-up
                    floor = asyncio.run(load(base, token, checks=False, count=REQUESTS))
                    measured = asyncio.run(load(base, token, checks=True, count=REQUESTS))
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                rows.append({"backend": backend, "workers": workers, "checks": measured, "floor": floor})
                print(f"{backend} × {workers}: {measured['rps']:.0f} checks/s, healthz {floor['rps']:.0f}/s")
    return rows


def report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{REQUESTS:,} requests per measure, {IN_FLIGHT} in flight, {CUSTOMERS} customers with limits and open items;"
        " load generator on the same machine.",
        "",
        "| backend | workers | credit checks/s | p50 | p99 | GET /healthz/s | p50 | p99 | checks / healthz |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        c, f = row["checks"], row["floor"]
        lines.append(
            f"| {row['backend']} | {row['workers']} | {c['rps']:,.0f} | {c['p50_ms']:.1f} ms | {c['p99_ms']:.1f} ms |"
            f" {f['rps']:,.0f} | {f['p50_ms']:.1f} ms | {f['p99_ms']:.1f} ms | {c['rps'] / f['rps']:.2f} |"
        )
    outcomes = ", ".join(f"{row['backend']}×{row['workers']}: {row['checks']['outcomes']}" for row in rows)
    lines += ["", f"Answers: {outcomes}."]
    return lines
