"""Contact details sealed at rest (domain.md: phone numbers are stored encrypted).

A citizen's phone number left for a 回访 call-back is the most personal thing the hall keeps.
It is encrypted with Fernet (AES-128-CBC + HMAC, from the well-kept `cryptography` package)
under a key kept in its own file beside the database (`var/hall.key`, mode 600): a copied
database file alone reveals no contact. Back the key up with the database, or the contacts of
open cases cannot be read again.

ID and phone numbers (bookings, 实名取号) are sealed the same way, and beside each goes a keyed
hash (`lookup`, HMAC-SHA256 under a key derived from the same file): per-person limits find a
person's earlier visits by it without opening anything, and a copied database alone cannot be
searched for a known number.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

PREFIX = "f1:"


class Sealer:
    """Loads `cryptography` on first use: its OpenSSL bindings cost a hall server 6-7 MiB,
    spent only once someone actually leaves a contact."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._cipher: Fernet | None = None
        self._lookup_key: bytes | None = None

    @property
    def _fernet(self) -> Fernet:
        if self._cipher is None:
            from cryptography.fernet import Fernet

            self._cipher = Fernet(self._load_or_create())
        return self._cipher

    def _load_or_create(self) -> bytes:
        try:
            return self.key_path.read_bytes().strip()
        except FileNotFoundError:
            pass
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write a different key
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.key_path.read_bytes().strip()
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        return key

    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash of a normalised ID or phone number; `kind` keeps an ID and a phone
        that happen to share digits apart."""
        if self._lookup_key is None:
            self._lookup_key = hmac.new(self._load_or_create(), b"hall-lookup",
                                        hashlib.sha256).digest()
        return hmac.new(self._lookup_key, f"{kind}:{value}".encode(),
                        hashlib.sha256).hexdigest()

    def seal(self, text: str | None) -> str | None:
        if not text:
            return text
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """The contact as given; one that cannot be opened (a lost key) reads as unknown."""
        if not stored or not stored.startswith(PREFIX):
            return stored  # written before sealing existed
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            return "(无法解密)"
