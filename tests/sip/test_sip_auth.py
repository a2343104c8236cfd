"""Digest authentication (RFC 7616 / RFC 8760): MD5 and SHA-256, qop=auth, nonce expiry
(stale=true), nonce-count replay protection, md5_cred, and the client side."""

from __future__ import annotations

import hashlib

import pytest

from pyari.sip.auth import (
    Credentials,
    DigestClient,
    DigestServer,
    Verdict,
    answer_challenge,
    parse_auth_header,
)

USERS = {"2222": Credentials("2222", password="pyari-2222")}


def server() -> DigestServer:
    return DigestServer("pyari", secret=b"k" * 32, nonce_lifetime=30.0)


def test_rfc2617_style_vector_md5_without_qop() -> None:
    # RFC 2617 §3.5's example, computed as the RFC shows (MD5, qop=auth)
    value = answer_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        nc=1,
        cnonce="0a4f113b",
    )
    assert value is not None
    _, params = parse_auth_header(value)
    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert params["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_challenge_answer_verify(algorithm: str) -> None:
    srv = server()
    challenges = srv.challenge(100.0)
    assert [parse_auth_header(c)[1]["algorithm"] for c in challenges] == ["SHA-256", "MD5"]
    chosen = next(c for c in challenges if f"algorithm={algorithm}" in c)
    auth = answer_challenge(
        chosen, method="REGISTER", uri="sip:127.0.0.1", username="2222", password="pyari-2222"
    )
    assert auth is not None
    result = srv.verify("REGISTER", [auth], USERS.get, 101.0)
    assert result.verdict is Verdict.OK and result.username == "2222"
    # the same nc again is a replay
    assert srv.verify("REGISTER", [auth], USERS.get, 102.0).verdict is Verdict.FAILED


def test_wrong_password_unknown_user_and_forged_nonce_fail() -> None:
    srv = server()
    (sha, _) = srv.challenge(0.0)
    wrong = answer_challenge(sha, method="REGISTER", uri="sip:x", username="2222", password="nope")
    assert wrong is not None
    assert srv.verify("REGISTER", [wrong], USERS.get, 1.0).verdict is Verdict.FAILED
    ghost = answer_challenge(sha, method="REGISTER", uri="sip:x", username="9999", password="x")
    assert ghost is not None
    assert srv.verify("REGISTER", [ghost], USERS.get, 1.0).reason == "unknown user"
    other = DigestServer("pyari", secret=b"z" * 32)
    (foreign, _) = other.challenge(0.0)
    forged = answer_challenge(
        foreign, method="REGISTER", uri="sip:x", username="2222", password="pyari-2222"
    )
    assert forged is not None
    assert srv.verify("REGISTER", [forged], USERS.get, 1.0).reason == "unknown nonce"
    # a different method than the one answered fails too
    good = answer_challenge(
        sha, method="REGISTER", uri="sip:x", username="2222", password="pyari-2222"
    )
    assert good is not None
    assert srv.verify("INVITE", [good], USERS.get, 1.0).verdict is Verdict.FAILED


def test_expired_nonce_is_stale_and_the_new_challenge_says_so() -> None:
    srv = server()
    (sha, _) = srv.challenge(0.0)
    auth = answer_challenge(
        sha, method="INVITE", uri="sip:1000@x", username="2222", password="pyari-2222"
    )
    assert auth is not None
    assert srv.verify("INVITE", [auth], USERS.get, 31.0).verdict is Verdict.STALE
    again = srv.challenge(31.0, stale=True)
    assert all("stale=true" in c for c in again)


def test_nonce_count_must_grow() -> None:
    srv = server()
    (sha, _) = srv.challenge(0.0)
    client = DigestClient("2222", "pyari-2222")
    first = client.authorize([sha], method="INVITE", uri="sip:1000@x")
    second = client.authorize([sha], method="INVITE", uri="sip:1000@x")
    assert first and second and "nc=00000001" in first and "nc=00000002" in second
    assert srv.verify("INVITE", [second], USERS.get, 1.0).ok
    assert srv.verify("INVITE", [first], USERS.get, 1.0).verdict is Verdict.FAILED


def test_missing_and_other_realm() -> None:
    srv = server()
    assert srv.verify("REGISTER", [], USERS.get, 0.0).verdict is Verdict.MISSING
    other = 'Digest username="2222", realm="elsewhere", nonce="x", uri="sip:x", response="y"'
    assert srv.verify("REGISTER", [other], USERS.get, 0.0).verdict is Verdict.MISSING
    unknown_scheme = "NoOneKnowsThisScheme opaque-data=here"
    assert srv.verify("REGISTER", [unknown_scheme], USERS.get, 0.0).verdict is Verdict.MISSING


def test_md5_cred_answers_md5_only() -> None:
    ha1 = hashlib.md5(b"2222:pyari:secret").hexdigest()
    users = {"2222": Credentials("2222", md5_ha1=ha1)}
    srv = server()
    sha, md5 = srv.challenge(0.0)
    good = answer_challenge(md5, method="REGISTER", uri="sip:x", username="2222", password="secret")
    assert good is not None
    assert srv.verify("REGISTER", [good], users.get, 1.0).ok
    sha_answer = answer_challenge(
        sha, method="REGISTER", uri="sip:x", username="2222", password="secret"
    )
    assert sha_answer is not None
    assert srv.verify("REGISTER", [sha_answer], users.get, 1.0).verdict is Verdict.FAILED


def test_client_prefers_sha256_and_skips_unanswerable() -> None:
    srv = server()
    client = DigestClient("2222", "pyari-2222")
    value = client.authorize(list(reversed(srv.challenge(0.0))), method="REGISTER", uri="sip:x")
    assert value is not None and "algorithm=SHA-256" in value
    assert (
        client.authorize(['Digest realm="r", nonce="n", qop="auth-int"'], method="X", uri="u")
        is None
    )
    assert client.authorize(["Basic realm=r"], method="X", uri="u") is None
