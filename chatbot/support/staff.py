"""Staff accounts for the assist panel: salted PBKDF2 password hashes, read from settings or env.

An account is `name:hash`, several joined by commas, in the `staff_accounts` setting (or the
CHATBOT_STAFF_ACCOUNTS variable). `python -m chatbot staff-account NAME` asks for a password and
prints the line; the password itself is never stored anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from chatbot.errors import SettingsError

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
MIN_PASSWORD_CHARS = 10
_NAME = re.compile(r"^[\w.@+-]{1,64}$")


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$ITERATIONS$SALT$HASH`, salt and hash in URL-safe base64 (no ':' or ',').

    >>> hash_password("correct horse", iterations=1000, salt=b"0123456789abcdef")
    'pbkdf2_sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M'
    """
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, hashed: str) -> bool:
    """Whether `password` matches `hashed` (compared in constant time); False for a malformed hash."""
    try:
        scheme, iterations, salt, digest = hashed.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.urlsafe_b64decode(_padded(digest))
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.urlsafe_b64decode(_padded(salt)), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def parse_accounts(text: str) -> dict[str, str]:
    """The accounts in a `staff_accounts` value: {name: hash}. A plain password where the hash
    should be is refused, so a secret never sits in a settings file by mistake.

    >>> list(parse_accounts("ana:pbkdf2_sha256$1000$c2FsdA$aGFzaA, ben:pbkdf2_sha256$1000$c2FsdA$aGFzaA"))
    ['ana', 'ben']
    """
    accounts: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, hashed = entry.partition(":")
        name = name.strip()
        if not _NAME.match(name) or not hashed.startswith(SCHEME + "$") or hashed.count("$") != 3:
            raise SettingsError(
                f"staff_accounts: {name or entry[:20]!r} is not NAME:{SCHEME}$... . Make each account with "
                "`python -m chatbot staff-account NAME` and paste the line it prints."
            )
        if name in accounts:
            raise SettingsError(f"staff_accounts: {name!r} is listed twice.")
        accounts[name] = hashed.strip()
    return accounts


class StaffAccounts:
    """Who may open the assist panel. Called as `accounts(name, password)`, the shape Gradio's
    `auth=` expects."""

    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts = accounts
        # An unknown name costs as much as a wrong password, so timing does not tell names apart.
        self._decoy = hash_password(secrets.token_hex(8), iterations=_iterations(next(iter(accounts.values()), "")))

    @classmethod
    def from_setting(cls, text: str) -> StaffAccounts | None:
        """None when no account is configured (the panel is then not served at all)."""
        accounts = parse_accounts(text)
        return cls(accounts) if accounts else None

    def __call__(self, name: str, password: str) -> bool:
        hashed = self.accounts.get(name)
        matches = check_password(password, hashed or self._decoy)
        return hashed is not None and matches

    def __len__(self) -> int:
        return len(self.accounts)


def new_account(name: str, password: str, iterations: int = ITERATIONS) -> str:
    """The `name:hash` line for a new account; a clear error for a bad name or a short password."""
    if not _NAME.match(name):
        raise SettingsError(f"Staff name {name!r}: use 1 to 64 letters, digits or . _ @ + -.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise SettingsError(f"Choose a password of at least {MIN_PASSWORD_CHARS} characters.")
    return f"{name}:{hash_password(password, iterations)}"


def _iterations(hashed: str) -> int:
    parts = hashed.split("$")
    return int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else ITERATIONS


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)
