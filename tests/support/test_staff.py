"""Staff accounts for the assist panel: hashes, the setting's format, sign-in checks."""

from __future__ import annotations

import pytest

from chatbot.errors import SettingsError
from chatbot.support.staff import StaffAccounts, check_password, hash_password, new_account, parse_accounts


def test_a_hash_checks_its_password_only() -> None:
    hashed = hash_password("correct horse battery", iterations=1000)
    assert hashed.startswith("pbkdf2_sha256$1000$") and "correct" not in hashed
    assert check_password("correct horse battery", hashed)
    assert not check_password("correct horse batterY", hashed)
    assert hash_password("same", iterations=1000) != hash_password("same", iterations=1000)  # salted


@pytest.mark.parametrize("hashed", ["", "garbage", "pbkdf2_sha256$many$abc$def", "md5$1000$abc$def", "pbkdf2_sha256$1000$%%$%%"])
def test_a_malformed_hash_never_matches(hashed: str) -> None:
    assert not check_password("anything", hashed)


def test_accounts_setting_is_read_and_checked() -> None:
    ana, ben = new_account("ana", "a long password", iterations=1000), new_account("ben", "another password", iterations=1000)
    staff = StaffAccounts.from_setting(f" {ana} ,{ben}")
    assert staff is not None and len(staff) == 2
    assert staff("ana", "a long password") and staff("ben", "another password")
    assert not staff("ana", "another password") and not staff("carl", "a long password") and not staff("", "")


def test_no_accounts_means_no_panel() -> None:
    assert StaffAccounts.from_setting("") is None and StaffAccounts.from_setting(" , ") is None


@pytest.mark.parametrize(
    ("setting", "message"),
    [("ana:hunter2hunter2", "is not NAME:pbkdf2_sha256"), ("ana", "is not NAME"), ("bad name:pbkdf2_sha256$1$a$b", "is not NAME"),
     ("ana:pbkdf2_sha256$1$a$b,ana:pbkdf2_sha256$1$a$b", "listed twice")],
)
def test_a_plain_password_or_bad_entry_is_refused(setting: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_accounts(setting)


def test_new_account_refuses_a_short_password_or_odd_name() -> None:
    with pytest.raises(SettingsError, match="at least 10 characters"):
        new_account("ana", "short")
    with pytest.raises(SettingsError, match="Staff name"):
        new_account("ana:admin", "a long password")


def test_staff_account_command_prints_a_line_the_setting_accepts(run_cli) -> None:
    result = run_cli("staff-account", "dana", "--password-stdin", input_text="a long password\n")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("dana:pbkdf2_sha256$600000$") and "a long password" not in line
    assert StaffAccounts(parse_accounts(line))("dana", "a long password")
