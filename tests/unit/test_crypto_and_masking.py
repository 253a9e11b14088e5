from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.customers.classification import mask_value
from riskdesk.security.crypto import DecryptionError, KeyRing, generate_key, key_id_of
from riskdesk.security.masking import mask_id_number, mask_middle


def ring(active: str = "k1", **keys: str) -> KeyRing:
    return KeyRing.from_settings(keys or {"k1": generate_key()}, active, "blind-index-key-for-tests-0123456789")


@given(st.text(min_size=0, max_size=200))
def test_encryption_round_trips(value: str) -> None:
    keyring = ring()
    sealed = keyring.encrypt(value, context="customers.phone")
    assert keyring.decrypt(sealed, context="customers.phone") == value


def test_ciphertext_names_its_key_and_hides_the_value() -> None:
    keyring = ring()
    sealed = keyring.encrypt("110105198506151234", context="customers.id_number")
    assert key_id_of(sealed) == "k1"
    assert "1234" not in base64.b64decode(sealed.split(":")[2]).hex()
    assert keyring.encrypt("x", context="c") != keyring.encrypt("x", context="c")  # fresh nonce each time


def test_a_ciphertext_moved_to_another_column_does_not_decrypt() -> None:
    keyring = ring()
    sealed = keyring.encrypt("13912345678", context="customers.phone")
    with pytest.raises(DecryptionError):
        keyring.decrypt(sealed, context="customers.id_number")


def test_old_key_still_opens_and_rotation_is_detected() -> None:
    old, new = generate_key(), generate_key()
    before = ring("old", old=old)
    sealed = before.encrypt("secret", context="c")
    after = ring("new", old=old, new=new)
    assert after.decrypt(sealed, context="c") == "secret"
    assert after.needs_rotation(sealed)
    with pytest.raises(DecryptionError, match="not in RISKDESK_ENCRYPTION_KEYS"):
        ring("new", new=new).decrypt(sealed, context="c")


def test_blind_index_is_deterministic_and_keyed() -> None:
    a = ring().blind_index("13912345678", context="customers.phone")
    assert a == ring().blind_index("13912345678", context="customers.phone")
    other = KeyRing.from_settings({"k1": generate_key()}, "k1", "another-blind-index-key-0123456789")
    assert a != other.blind_index("13912345678", context="customers.phone")


def test_id_number_mask_keeps_region_and_last_four() -> None:
    assert mask_id_number("110105198506151234") == "110***********1234"


@given(st.text(min_size=1, max_size=40))
def test_masking_never_returns_the_whole_value_of_longer_strings(value: str) -> None:
    masked = mask_middle(value)
    assert len(masked) == len(value)
    if len(value) >= 2:
        assert "*" in masked
        assert masked != value or "*" in value  # equal only when a hidden character already was "*"


def test_personal_values_are_masked_for_the_ledger() -> None:
    assert mask_value("date_of_birth", "1985-06-15") == "1985-**-**"
    assert mask_value("name", "李娜") == "李*"
