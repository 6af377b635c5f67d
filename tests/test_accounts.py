"""AccountStore: argon2id hashes, one-time passwords, throttling, TOTP, training, sessions."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pyotp
import pytest
from console_support import PASSWORD, cheap_hasher

from storage.accounts import AccountError, AccountStore


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(tmp_path, clock):
    store = AccountStore.open(tmp_path / "accounts.db", hasher=cheap_hasher(), clock=clock,
                              seal_key=b"s" * 32, max_failures=5, lockout_s=900)
    yield store
    store.close()


def test_one_time_password_is_random_hashed_with_argon2id_and_must_change(accounts, tmp_path):
    one = accounts.create_user("Alice", "admin", "Example PD")
    two = accounts.create_user("bob", "auditor", "Example PD")
    assert one != two and len(one) >= 16
    user = accounts.get_user("alice")
    assert user.must_change_password and user.role == "admin"
    rows = sqlite3.connect(tmp_path / "accounts.db").execute("SELECT pw_hash FROM users")
    hashes = [r[0] for r in rows]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert one not in (tmp_path / "accounts.db").read_bytes().decode("latin-1")
    assert oct((tmp_path / "accounts.db").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("name,role,org,msg", [
    ("alice", "superuser", "PD", "role"), ("a", "admin", "PD", "username"),
    ("bad name!", "admin", "PD", "username"), ("carol", "admin", " ", "organisation")])
def test_create_user_rejects_bad_input(accounts, name, role, org, msg):
    with pytest.raises(AccountError, match=msg):
        accounts.create_user(name, role, org)
    assert not accounts.has_users()


def test_duplicate_user_and_weak_passwords_are_refused(accounts):
    accounts.create_user("alice", "admin", "PD", password=PASSWORD, one_time_password=False)
    with pytest.raises(AccountError, match="exists"):
        accounts.create_user("ALICE", "auditor", "PD")
    for weak, msg in (("short", "12"), ("xxalicexxxxxxxx", "username"), (PASSWORD, "differ")):
        with pytest.raises(AccountError, match=msg):
            accounts.set_password("alice", weak)


def test_login_and_password_change_end_other_sessions(accounts, clock):
    otp = accounts.create_user("alice", "admin", "PD")
    assert accounts.login("alice", otp, "10.0.0.1").ok
    token, _ = accounts.create_session("alice", "10.0.0.1")
    accounts.set_password("alice", PASSWORD)
    assert accounts.get_session(token, 900, 3600) is None
    assert not accounts.get_user("alice").must_change_password
    assert not accounts.login("alice", otp, "10.0.0.1").ok
    assert accounts.login("ALICE ", PASSWORD, "10.0.0.1").ok


def test_account_lockout_then_expiry(accounts, clock):
    accounts.create_user("alice", "admin", "PD", password=PASSWORD, one_time_password=False)
    for i in range(5):
        assert accounts.login("alice", f"guess{i}", f"10.0.0.{i}").reason == "bad-credentials"
    locked = accounts.login("alice", PASSWORD, "10.0.0.99")  # right password, still locked
    assert locked.reason == "locked" and 0 < locked.retry_after_s <= 900
    clock.t += 901
    assert accounts.login("alice", PASSWORD, "10.0.0.99").ok


def test_address_lockout_across_usernames(accounts, clock):
    accounts.create_user("alice", "admin", "PD", password=PASSWORD, one_time_password=False)
    for i in range(5):
        accounts.login(f"user{i}", "x" * 12, "10.9.9.9")
    assert accounts.login("alice", PASSWORD, "10.9.9.9").reason == "locked"
    assert accounts.login("alice", PASSWORD, "10.0.0.1").ok  # the account itself is fine
    assert accounts.locked(address="10.9.9.9") > 0


def test_totp_enrol_seal_and_login(accounts, clock, tmp_path):
    accounts.create_user("alice", "investigator", "PD", password=PASSWORD,
                         one_time_password=False)
    secret = accounts.begin_totp("alice")
    with pytest.raises(AccountError, match="code"):
        accounts.confirm_totp("alice", secret, "000000")
    accounts.confirm_totp("alice", secret, pyotp.TOTP(secret).now())
    assert secret.encode() not in (tmp_path / "accounts.db").read_bytes()
    assert accounts.login("alice", PASSWORD, "1.1.1.1").reason == "totp-required"
    assert accounts.login("alice", PASSWORD, "1.1.1.1", "123456").reason == "bad-credentials"
    code = pyotp.TOTP(secret).at(clock.t)
    assert accounts.login("alice", PASSWORD, "1.1.1.1", code).ok


def test_totp_needs_the_sealing_key(tmp_path):
    store = AccountStore.open(tmp_path / "a.db", hasher=cheap_hasher())
    store.create_user("alice", "admin", "PD")
    with pytest.raises(AccountError, match="sealing key"):
        store.begin_totp("alice")
    store.close()


def test_training_is_current_only_between_completion_and_expiry(accounts, clock):
    accounts.create_user("alice", "investigator", "PD")
    today = dt.datetime.fromtimestamp(clock.t, dt.UTC).date()
    assert not accounts.is_trained("alice")
    accounts.add_training("alice", "ALPR use", today - dt.timedelta(days=400),
                          today - dt.timedelta(days=35), "admin")
    assert not accounts.is_trained("alice")  # expired
    accounts.add_training("alice", "ALPR use", today - dt.timedelta(days=1),
                          today + dt.timedelta(days=364), "admin")
    assert accounts.is_trained("alice")
    clock.t += 366 * 86400
    assert not accounts.is_trained("alice")
    with pytest.raises(AccountError, match="expiry"):
        accounts.add_training("alice", "x", today, today, "admin")
    with pytest.raises(AccountError, match="no such user"):
        accounts.add_training("nobody", "x", today, today + dt.timedelta(days=1), "admin")


def test_sessions_idle_and_absolute_timeouts(accounts, clock):
    accounts.create_user("alice", "admin", "PD")
    token, session = accounts.create_session("alice", "1.2.3.4")
    assert session.session_id not in token  # the file holds only a hash
    clock.t += 800
    assert accounts.get_session(token, idle_s=900, absolute_s=3600) is not None
    clock.t += 800  # 800 s since last use: still fine
    assert accounts.get_session(token, idle_s=900, absolute_s=3600) is not None
    clock.t += 901  # idle too long
    assert accounts.get_session(token, idle_s=900, absolute_s=3600) is None
    token, _ = accounts.create_session("alice", "1.2.3.4")
    for _ in range(5):
        clock.t += 700  # 3,500 s in all, never idle for long
        assert accounts.get_session(token, idle_s=900, absolute_s=3600) is not None
    clock.t += 200  # 3,700 s since sign-in: past the absolute lifetime
    assert accounts.get_session(token, idle_s=900, absolute_s=3600) is None


def test_disable_and_role_change_end_sessions(accounts):
    accounts.create_user("alice", "technician", "PD")
    token, _ = accounts.create_session("alice", "1.2.3.4")
    accounts.set_role("alice", "investigator")
    assert accounts.get_session(token, 900, 3600) is None
    token, _ = accounts.create_session("alice", "1.2.3.4")
    accounts.set_disabled("alice", True)
    assert accounts.get_session(token, 900, 3600) is None


def test_reopen_keeps_data_and_migrations_run_once(tmp_path):
    first = AccountStore.open(tmp_path / "a.db", hasher=cheap_hasher())
    first.create_user("alice", "admin", "PD")
    first.close()
    again = AccountStore.open(tmp_path / "a.db", hasher=cheap_hasher())
    assert again.get_user("alice").role == "admin"
    names = [r[0] for r in again._db.execute("SELECT name FROM _migrations")]
    assert names == ["001_initial"]
    again.close()
