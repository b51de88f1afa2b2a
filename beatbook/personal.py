"""Identity numbers: kept as a keyed hash for matching, shown only masked."""

from __future__ import annotations

import hashlib
import hmac


def normalise_identity(number: str) -> str:
    return "".join(number.split()).upper()


def hash_identity(number: str, key: str) -> bytes:
    """HMAC-SHA256 of the normalised number: equal numbers match, the number cannot be read back."""
    return hmac.new(key.encode(), normalise_identity(number).encode(), hashlib.sha256).digest()


def last4(number: str) -> str:
    return normalise_identity(number)[-4:]


def mask_identity(last_four: str | None, length: int = 18) -> str | None:
    """What the API shows of an identity number: all but the last four hidden."""
    if not last_four:
        return None
    return "*" * (length - len(last_four)) + last_four
