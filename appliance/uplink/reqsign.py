"""Requests signed with the agency server's Ed25519 key (pull endpoint authentication).

The server signs ``METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n SHA256(BODY)``; the unit checks
the signature with ``trust/server.pub``, refuses timestamps outside a skew window and any nonce
seen within that window (replay). Depends only on `cryptography`, like verify.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

H_TIME = "X-Alpr-Timestamp"
H_NONCE = "X-Alpr-Nonce"
H_SIG = "X-Alpr-Signature"


class AuthError(PermissionError):
    """A signed request was refused; ``code`` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _message(method: str, path_qs: str, ts: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path_qs, ts, nonce, digest)).encode("utf-8")


def sign_request(key: Ed25519PrivateKey, method: str, path_qs: str, body: bytes = b"", *,
                 clock: Callable[[], float] = time.time) -> dict[str, str]:
    """Headers that authenticate one request."""
    ts, nonce = str(int(clock())), secrets.token_hex(16)
    sig = key.sign(_message(method, path_qs, ts, nonce, body))
    return {H_TIME: ts, H_NONCE: nonce, H_SIG: base64.b64encode(sig).decode("ascii")}


class RequestVerifier:
    """Checks signed requests; remembers nonces for the skew window to refuse replays."""

    def __init__(self, key: Ed25519PublicKey, *, max_skew_s: float = 300.0,
                 clock: Callable[[], float] = time.time, max_nonces: int = 100_000) -> None:
        self.key = key
        self.max_skew_s = max_skew_s
        self.clock = clock
        self.max_nonces = max_nonces
        self._seen: OrderedDict[str, float] = OrderedDict()

    def verify(self, method: str, path_qs: str, headers: Mapping[str, str], body: bytes) -> None:
        ts, nonce, sig_b64 = headers.get(H_TIME), headers.get(H_NONCE), headers.get(H_SIG)
        if not (ts and nonce and sig_b64):
            raise AuthError("unsigned", f"missing {H_TIME}, {H_NONCE} or {H_SIG}")
        if not ts.isdigit() or not 16 <= len(nonce) <= 64:
            raise AuthError("malformed", "bad timestamp or nonce")
        now = self.clock()
        if abs(now - int(ts)) > self.max_skew_s:
            raise AuthError("stale", f"timestamp {ts} outside ±{self.max_skew_s:.0f} s of now")
        try:
            sig = base64.b64decode(sig_b64, validate=True)
            self.key.verify(sig, _message(method, path_qs, ts, nonce, body))
        except (InvalidSignature, ValueError, binascii.Error) as exc:
            raise AuthError("bad_signature", "request signature does not verify") from exc
        self._expire(now)
        if nonce in self._seen:
            raise AuthError("replayed", "nonce already used")
        self._seen[nonce] = int(ts) + self.max_skew_s
        while len(self._seen) > self.max_nonces:
            self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._seen:
            nonce, until = next(iter(self._seen.items()))
            if until >= now:  # still inside its window: keep
                break
            del self._seen[nonce]
