"""Authentication of an exposed service (issue 22, point 4): bearer tokens for the page and /api/*, the EHR's
signed JWT for CDS Hooks, the audit line, and serve refusing to listen beyond loopback without authentication.

Keys are made in the test (cryptography); the one jku server is a thread on 127.0.0.1 started here.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import logging
import threading
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from notechecker.cli import app as cli_app
from notechecker.web.auth import Auth, ConfigError, load_jwks, load_tokens
from notechecker.web.server import create_app

SAMPLES = Path(__file__).resolve().parents[1] / "sample_notes"
HOOK_URL = "/cds-services/notechecker-note-sign"
PUBLIC = "https://notechecker.example.org"
ISS = "https://ehr.example.org"
TOKEN = "t" * 20 + uuid.uuid4().hex  # 52 characters
#: A word of the note that must not reach any log line or error body.
MARKER = "Quillfeatherzyx"


def _note() -> str:
    text = (SAMPLES / "sn08_anterior_cervical_plate_removal.txt").read_text(encoding="utf-8")
    return text.replace("\n", f" {MARKER}\n", 1)


def _docref(text: str) -> dict:
    return {"resourceType": "DocumentReference", "id": "draft-1", "status": "current",
            "content": [{"attachment": {"contentType": "text/plain",
                                        "data": base64.b64encode(text.encode()).decode()}}],
            "context": {"event": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "22855"}]}]}}


def _hook(text: str | None = None) -> dict:
    return {"hook": "notechecker-note-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"patientId": "p1", "userId": "Practitioner/1", "document": _docref(text or _note())}}


@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pub = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    pub.update(kid="k1", alg="RS384", use="sig")
    ec_pub = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    ec_pub.update(kid="k2", alg="ES384" if False else "ES256", use="sig")
    return {"rsa": rsa_key, "other": other, "ec": ec_key, "jwks": {"keys": [pub, ec_pub]}}


def _token(key, *, kid="k1", alg="RS384", iss=ISS, aud=f"{PUBLIC}{HOOK_URL}", exp_in=300, iat_shift=0,
           jti=None, headers=None, sub="Practitioner/7", drop=()) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "exp": now + exp_in, "iat": now + iat_shift, "jti": jti or uuid.uuid4().hex,
              "sub": sub}
    for k in drop:
        claims.pop(k)
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(key) -> str:
    """The algorithm-confusion attack: an HMAC token whose secret is the RSA public key (PEM), made by hand."""
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = _b64url(json.dumps({"iss": ISS, "aud": PUBLIC, "exp": now + 60, "iat": now, "jti": "h1"}).encode())
    sig = _b64url(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


@pytest.fixture(scope="module")
def client(keys):
    auth = Auth(tokens={TOKEN: "coder-1"}, jwks=keys["jwks"], issuers=(ISS,), public_url=PUBLIC)
    auth.check_config()
    with TestClient(create_app(workers=0, auth=auth), base_url="http://127.0.0.1") as c:
        yield c


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- page and /api/*
def test_api_needs_the_bearer_token_and_the_page_asks_for_it(client):
    text = _note()
    r = client.post("/api/check", json={"text": text})
    assert r.status_code == 401 and r.json()["error"]["code"] == "E713"
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/check", json={"text": text}, headers=_bearer(TOKEN[:-1] + "x"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "E714"
    assert client.get("/api/rules").status_code == 401
    r = client.post("/api/check", json={"text": text}, headers=_bearer(TOKEN))
    assert r.status_code == 200 and r.json()["codes"]
    assert client.get("/api/rules", headers=_bearer(TOKEN)).status_code == 200
    page = client.get("/")  # the page holds no note; it asks for the token and keeps it for the session
    assert page.status_code == 200 and "sessionStorage" in page.text and "Authorization" in page.text
    assert client.get("/healthz").status_code == 200
    for body in (r.text, page.text):
        assert TOKEN not in body


def test_token_file_is_read_and_short_tokens_refused(tmp_path):
    f = tmp_path / "tokens"
    f.write_text(f"# coders\ncoder-1: {TOKEN}\n\n{'u' * 40}\n")
    assert load_tokens(f) == {TOKEN: "coder-1", "u" * 40: "token-2"}
    f.write_text("coder-2: short\n")
    with pytest.raises(ConfigError, match="at least 32"):
        load_tokens(f)


# --------------------------------------------------------------------------- CDS Hooks JWT
def test_a_signed_jwt_is_let_in_and_each_bad_one_refused(client, keys):
    good = client.post(HOOK_URL, json=_hook(), headers=_bearer(_token(keys["rsa"])))
    assert good.status_code == 200, good.text
    assert good.json()["cards"]
    ec_ok = client.post(HOOK_URL, json=_hook(), headers=_bearer(_token(keys["ec"], kid="k2", alg="ES256")))
    assert ec_ok.status_code == 200, ec_ok.text
    replayed = _token(keys["rsa"])
    assert client.post(HOOK_URL, json=_hook(), headers=_bearer(replayed)).status_code == 200
    cases = {
        "missing": (None, "E713"),
        "bad signature": (_token(keys["other"]), "E715"),
        "wrong issuer": (_token(keys["rsa"], iss="https://evil.example"), "E716"),
        "wrong audience": (_token(keys["rsa"], aud="https://other.example/cds-services"), "E716"),
        "expired": (_token(keys["rsa"], exp_in=-120, iat_shift=-400), "E717"),
        "iat in the future": (_token(keys["rsa"], iat_shift=600, exp_in=900), "E717"),
        "iat too old": (_token(keys["rsa"], iat_shift=-3600, exp_in=60), "E717"),
        "replayed": (replayed, "E718"),
        "no jti": (_token(keys["rsa"], drop=("jti",)), "E715"),
        "unknown kid": (_token(keys["rsa"], kid="k9"), "E715"),
        "alg none": (jwt.encode({"iss": ISS, "aud": PUBLIC, "exp": int(time.time()) + 60, "iat": int(time.time()),
                                 "jti": "n1"}, None, algorithm="none"), "E715"),
        "HS256 with the public key as secret": (_hs256_with_public_key(keys["rsa"]), "E715"),
        "jku not allowed": (_token(keys["rsa"], headers={"jku": "http://127.0.0.1:9/jwks.json"}), "E719"),
        "not a JWT": ("abc.def", "E715"),
    }
    for name, (token, code) in cases.items():
        r = client.post(HOOK_URL, json=_hook(), headers=_bearer(token) if token else {})
        assert r.status_code == 401, (name, r.text)
        assert r.json()["error"]["code"] == code, (name, r.text)
        assert MARKER not in r.text


def test_the_bearer_token_does_not_open_cds_hooks_nor_a_jwt_the_api(client, keys):
    assert client.post(HOOK_URL, json=_hook(), headers=_bearer(TOKEN)).json()["error"]["code"] == "E715"
    r = client.post("/api/check", json={"text": _note()}, headers=_bearer(_token(keys["rsa"])))
    assert r.json()["error"]["code"] == "E714"


class _JwksServer:
    """A key-set server on 127.0.0.1 that counts its requests."""

    def __init__(self, jwks: dict):
        body = json.dumps(jwks).encode()
        self.hits = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_jku_is_fetched_only_when_allowed_and_then_cached(keys):
    server = _JwksServer(keys["jwks"])
    try:
        auth = Auth(jku=(server.url,), issuers=(ISS,), public_url=PUBLIC)
        auth.check_config()
        with TestClient(create_app(workers=0, auth=auth), base_url="http://127.0.0.1") as c:
            for _ in range(3):
                r = c.post(HOOK_URL, json=_hook(), headers=_bearer(_token(keys["rsa"], headers={"jku": server.url})))
                assert r.status_code == 200, r.text
            assert server.hits == 1  # cached
            evil = server.url.replace("/jwks.json", "/other.json")
            r = c.post(HOOK_URL, json=_hook(), headers=_bearer(_token(keys["rsa"], headers={"jku": evil})))
            assert r.status_code == 401 and r.json()["error"]["code"] == "E719"
            assert server.hits == 1  # a URL off the allow-list is never fetched
    finally:
        server.close()


def test_audit_line_per_check_holds_caller_hash_codes_verdicts_never_text(client, keys, caplog):
    caplog.set_level(logging.INFO, logger="notechecker.web.audit")
    text = _note()
    assert client.post("/api/check", json={"text": text, "codes": ["22855"]}, headers=_bearer(TOKEN)).status_code == 200
    assert client.post(HOOK_URL, json=_hook(text), headers=_bearer(_token(keys["rsa"]))).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "notechecker.web.audit"]
    assert len(lines) == 2, lines
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert "caller=coder-1" in lines[0] and "caller=Practitioner/7" in lines[1]
    for line in lines:
        assert f"note=sha256:{digest}" in line and "22855" in line and "verdicts=22855: " in line
        assert MARKER not in line
    assert MARKER not in caplog.text


def test_exposed_service_refuses_what_no_option_covers(keys):
    auth = Auth(tokens={TOKEN: "coder-1"}, required=True)
    with TestClient(create_app(workers=0, auth=auth), base_url="http://127.0.0.1") as c:
        r = c.post(HOOK_URL, json=_hook())
        assert r.status_code == 401 and r.json()["error"]["code"] == "E713"
        assert "--jwks" in r.json()["error"]["message"]
    auth = Auth(jwks=keys["jwks"], issuers=(ISS,), public_url=PUBLIC, required=True)
    with TestClient(create_app(workers=0, auth=auth), base_url="http://127.0.0.1") as c:
        r = c.post("/api/check", json={"text": _note()}, headers=_bearer(TOKEN))
        assert r.status_code == 401 and r.json()["error"]["code"] == "E713"


def test_serve_beyond_loopback_needs_authentication(tmp_path, keys):
    runner = CliRunner()
    res = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--allowed-host", "ehr.example"])
    assert res.exit_code == 2 and "needs authentication" in res.output
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys["jwks"]))
    assert load_jwks(jwks) == keys["jwks"]
    res = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--jwks", str(jwks)])
    assert res.exit_code == 2 and "--issuer" in res.output
    res = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--jwks", str(jwks), "--issuer", ISS])
    assert res.exit_code == 2 and "--public-url" in res.output
    res = runner.invoke(cli_app, ["serve", "--jku", "http://keys.example.org/jwks.json", "--issuer", ISS,
                                  "--public-url", PUBLIC])
    assert res.exit_code == 2 and "https://" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [{"kty": "nope"}]}')
    res = runner.invoke(cli_app, ["serve", "--jwks", str(bad), "--issuer", ISS, "--public-url", PUBLIC])
    assert res.exit_code == 2 and "not a usable JWK set" in res.output


def test_deep_json_bodies_get_the_json_error_shape(client, keys):
    deep = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = client.post("/api/check", content=deep, headers={"content-type": "application/json", **_bearer(TOKEN)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "E720", r.text
    deep_hook = '{"hook": ' + "{\"a\":" * 50_000 + "1" + "}" * 50_000 + "}"
    r = client.post(HOOK_URL, content=deep_hook, headers={"content-type": "application/json",
                                                          **_bearer(_token(keys["rsa"]))})
    assert r.status_code == 400 and r.json()["error"]["code"] == "E720", r.text
    r = client.post("/api/check", content='{"text": "x" ', headers={"content-type": "application/json",
                                                                     **_bearer(TOKEN)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "E701"
