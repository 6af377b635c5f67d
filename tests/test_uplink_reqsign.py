"""Server-signed requests: skew window, nonce memory, binding to method/path/body."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.uplink.reqsign import AuthError, RequestVerifier, sign_request

KEY = Ed25519PrivateKey.generate()


def _code(verifier, *args):
    with pytest.raises(AuthError) as ei:
        verifier.verify(*args)
    return ei.value.code


def test_binding_skew_and_replay():
    now = [1_000_000.0]
    v = RequestVerifier(KEY.public_key(), max_skew_s=60, clock=lambda: now[0])
    h = sign_request(KEY, "POST", "/uplink/v1/ack", b'{"seq": 3}', clock=lambda: now[0])
    assert _code(v, "POST", "/uplink/v1/ack", h, b'{"seq": 4}') == "bad_signature"
    assert _code(v, "GET", "/uplink/v1/ack", h, b'{"seq": 3}') == "bad_signature"
    v.verify("POST", "/uplink/v1/ack", h, b'{"seq": 3}')
    assert _code(v, "POST", "/uplink/v1/ack", h, b'{"seq": 3}') == "replayed"
    now[0] += 61  # outside the window the nonce is forgotten, and the timestamp is stale
    assert _code(v, "POST", "/uplink/v1/ack", h, b'{"seq": 3}') == "stale"
    v.verify("GET", "/x", sign_request(KEY, "GET", "/x", clock=lambda: now[0]), b"")
    assert len(v._seen) == 1  # the expired nonce was dropped
    assert _code(v, "GET", "/x", {}, b"") == "unsigned"
    bad = dict(h, **{"X-Alpr-Timestamp": "soon"})
    assert _code(v, "POST", "/uplink/v1/ack", bad, b"") == "malformed"


def test_nonce_memory_is_bounded():
    v = RequestVerifier(KEY.public_key(), max_nonces=10)
    for _ in range(25):
        v.verify("GET", "/x", sign_request(KEY, "GET", "/x"), b"")
    assert len(v._seen) == 10
