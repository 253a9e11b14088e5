"""Masking of personal values for roles that do not need to see them."""

from __future__ import annotations


def mask_middle(value: str, *, keep_start: int = 3, keep_end: int = 4, mask_char: str = "*") -> str:
    """``110105199001011234`` → ``110***********1234``; short values keep less so something stays hidden."""
    if not value:
        return value
    length = len(value)
    if length <= keep_start + keep_end:
        keep_start = min(keep_start, max(0, length // 4))
        keep_end = min(keep_end, max(1, length // 4)) if length > 1 else 0
    hidden = length - keep_start - keep_end
    return value[:keep_start] + mask_char * hidden + (value[length - keep_end :] if keep_end else "")


def mask_id_number(value: str) -> str:
    return mask_middle(value, keep_start=3, keep_end=4)


def mask_phone(value: str) -> str:
    return mask_middle(value, keep_start=3, keep_end=4)


def mask_account(value: str) -> str:
    return mask_middle(value, keep_start=0, keep_end=4)


def mask_text(value: str) -> str:
    """Addresses and free text: keep the first characters (province, city), hide the rest."""
    return mask_middle(value, keep_start=min(6, len(value) // 3), keep_end=0)
