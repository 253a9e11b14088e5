"""Concurrent requests against a real server on the embedded SQLite database all complete.

Before database work left the event loop, six simultaneous requests deadlocked: one held SQLite's write lock
while another blocked the loop waiting for it, so the first could never commit.
"""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import httpx

from riskdesk.demo.portfolio import make_uscc


def signed_in(base: str, username: str, password: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post("/login", data={"username": username, "password": password, "login_csrf": token.group(1)})
    assert response.status_code == 303, response.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/customers").text)
    assert csrf is not None
    return client, csrf.group(1)


def test_simultaneous_reads_and_writes_all_complete(live_server: str, demo_password: str) -> None:
    sessions = [signed_in(live_server, "credit", demo_password) for _ in range(4)]
    rng = random.Random(7)
    codes = [make_uscc(rng, "330106") for _ in range(8)]

    def read(index: int) -> int:
        client, _ = sessions[index % len(sessions)]
        return client.get("/customers", params={"page": 1 + index % 2}).status_code

    def write(index: int) -> int:
        client, csrf = sessions[index % len(sessions)]
        return client.post(
            "/customers/new?kind=company",
            data={
                "csrf_token": csrf,
                "name": f"并发测试{index}有限公司",
                "uscc": codes[index],
                "status": "prospect",
                "country": "CN",
            },
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        reads = [pool.submit(read, n) for n in range(16)]
        writes = [pool.submit(write, n) for n in range(8)]
        statuses = [f.result() for f in reads] + [f.result() for f in writes]
    assert statuses == [200] * 16 + [303] * 8
    for client, _ in sessions:
        client.close()
