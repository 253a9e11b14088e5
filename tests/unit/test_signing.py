"""Webhook signatures: what a receiver checks (docs/notifications.md shows the same steps)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.comms.signing import InvalidSignature, new_secret, signature, signature_header, verify

BODY = '{"alert":{"id":7,"severity":"high"},"customer":{"name":"杭州测试科技有限公司"}}'.encode()
T = 1_780_000_000


def test_a_receiver_with_the_secret_verifies_the_signature_and_learns_the_timestamp() -> None:
    secret = new_secret()
    header = signature_header(secret, BODY, T)
    assert header.startswith(f"t={T},v1=")
    assert verify(secret, BODY, header, now=T + 10) == T


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_x", f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature("whsec_x", BODY, T) == expected


def test_a_tampered_body_or_a_wrong_secret_fails() -> None:
    secret = new_secret()
    header = signature_header(secret, BODY, T)
    with pytest.raises(InvalidSignature, match="no v1 signature matches"):
        verify(secret, BODY.replace(b"high", b"low "), header, now=T)
    with pytest.raises(InvalidSignature, match="no v1 signature matches"):
        verify(new_secret(), BODY, header, now=T)


def test_the_timestamp_is_signed_and_checked_against_the_tolerance() -> None:
    secret = new_secret()
    header = signature_header(secret, BODY, T)
    moved = header.replace(f"t={T}", f"t={T + 60}")  # a replay with a fresh timestamp
    with pytest.raises(InvalidSignature, match="no v1 signature matches"):
        verify(secret, BODY, moved, now=T + 60)
    with pytest.raises(InvalidSignature, match="away from now"):
        verify(secret, BODY, header, now=T + 301)
    assert verify(secret, BODY, header, now=T + 3600, tolerance_seconds=3600) == T


@pytest.mark.parametrize("header", ["", "v1=abc", f"t={T}", "t=soon,v1=abc", "garbage"])
def test_a_malformed_header_fails(header: str) -> None:
    with pytest.raises(InvalidSignature, match="needs t="):
        verify("whsec_x", BODY, header, now=T)


def test_new_secrets_differ_and_are_long() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") and len(s) >= 40 for s in secrets)


@given(body=st.binary(max_size=2000), timestamp=st.integers(min_value=0, max_value=2**40))
def test_any_body_signed_verifies_and_one_flipped_byte_does_not(body: bytes, timestamp: int) -> None:
    header = signature_header("whsec_prop", body, timestamp)
    assert verify("whsec_prop", body, header, now=timestamp) == timestamp
    if body:
        flipped = bytes([body[0] ^ 1]) + body[1:]
        with pytest.raises(InvalidSignature):
            verify("whsec_prop", flipped, header, now=timestamp)
