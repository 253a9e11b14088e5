"""Field encryption (AES-256-GCM under a key ring) and blind indexes for exact-match search.

A ciphertext is stored as ``v1:<key id>:<base64 nonce+ciphertext+tag>`` so every value names the key that
sealed it and ``riskdesk keys rotate`` can re-seal values under the active key. The column name is bound
into the GCM associated data, so a ciphertext copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1"


class DecryptionError(RuntimeError):
    """A stored value could not be opened: unknown key id, wrong key, or tampered ciphertext."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes] = field(repr=False)
    active_key_id: str
    blind_index_key: bytes = field(repr=False)

    @classmethod
    def from_settings(cls, keys: dict[str, str], active_key_id: str, blind_index_key: str) -> KeyRing:
        return cls(
            keys={key_id: base64.b64decode(key) for key_id, key in keys.items()},
            active_key_id=active_key_id,
            blind_index_key=hashlib.sha256(b"riskdesk-blind-index\x00" + blind_index_key.encode()).digest(),
        )

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_PREFIX}:{self.active_key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        key_id = key_id_of(stored)
        payload = stored.split(":", 2)[2]
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"value was sealed with key {key_id!r}, which is not in RISKDESK_ENCRYPTION_KEYS")
        raw = base64.b64decode(payload)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError(f"value under key {key_id!r} failed authentication (wrong key or tampered)") from exc

    def needs_rotation(self, stored: str) -> bool:
        return key_id_of(stored) != self.active_key_id

    def blind_index(self, normalized: str, *, context: str) -> str:
        """Keyed hash of a normalised value: equal inputs give equal indexes, the value stays hidden."""
        message = context.encode() + b"\x00" + normalized.encode()
        return hmac.new(self.blind_index_key, message, hashlib.sha256).hexdigest()


def key_id_of(stored: str) -> str:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise DecryptionError("stored value is not a riskdesk v1 ciphertext")
    return parts[1]


def generate_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
