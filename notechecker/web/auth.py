"""Who may call the service: a bearer token for the page and ``/api/*``, the EHR's JWT for CDS Hooks.

``serve`` on a non-loopback address starts only with one of them configured; with none
(loopback only) every call is let in, as before.

Bearer tokens (``--token-file FILE``)
    One token a line, ``name: token`` (or a bare token, named ``token-N``); blank lines and
    ``#`` comments skipped; at least 32 characters each. ``Authorization: Bearer <token>`` on
    ``POST /api/check`` and ``GET /api/rules``; compared in constant time. The name (never the
    token) is the caller in the access log. The page asks for the token once and keeps it for
    the browser session (``sessionStorage``).

CDS Hooks JWT (``--jwks FILE`` and/or ``--jku URL``, ``--issuer ISS``, ``--public-url URL``)
    The EHR signs a JWT on every call (CDS Hooks 2.0, "Trusting CDS Clients"): header
    ``alg`` (an asymmetric algorithm of :data:`ALGORITHMS`, never ``none`` or HMAC), ``kid``,
    optionally ``jku``; claims ``iss`` (on the ``--issuer`` allow-list), ``aud`` (this service's
    URL: ``--public-url``, or the service endpoint under it), ``exp`` and ``iat`` (checked, with
    :data:`LEEWAY` seconds of clock skew, ``iat`` at most :data:`MAX_AGE` seconds old), ``jti``
    (seen once: kept until its token expires in one store for the whole server, so a replay is
    refused). Keys come from the local JWK set file, or from a ``jku`` URL that is exactly one of
    the ``--jku`` URLs: fetched with a :data:`FETCH_TIMEOUT`-second timeout, no redirects, at most
    :data:`MAX_JWKS_BYTES`, cached :data:`JWKS_TTL` seconds. That fetch is the service's one
    outbound call; no other URL in a request (``fhirServer``, ``prefetch``, attachment links) is
    ever fetched.

Every refusal is 401 with the JSON error shape (E713-E719) and ``WWW-Authenticate: Bearer``.
"""
from __future__ import annotations

import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import Errors

#: Signature algorithms accepted on a CDS Hooks JWT: asymmetric only (a public key cannot forge).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
#: Seconds of clock skew allowed on exp, iat.
LEEWAY = 30
#: Oldest iat accepted, in seconds (CDS Hooks: exp at most 5 minutes after iat).
MAX_AGE = 600
#: A jku key set: timeout of the fetch, its largest size, how long it is kept.
FETCH_TIMEOUT = 5.0
MAX_JWKS_BYTES = 256 * 1024
JWKS_TTL = 300.0
#: Shortest bearer token accepted from a token file.
MIN_TOKEN = 32


class AuthError(Exception):
    """A refused call: the code and the message of its 401 body."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ConfigError(ValueError):
    """An authentication option that cannot be used (a token file, a JWK set file)."""


def load_tokens(path: str | Path) -> dict[str, str]:
    """token -> name from a token file (see the module); ConfigError naming the file and line."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{p}: the token file cannot be read ({type(exc).__name__})") from None
    tokens: dict[str, str] = {}
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, token = line.rpartition(":") if ":" in line else ("", "", line)
        name, token = name.strip() or f"token-{len(tokens) + 1}", token.strip()
        if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
            raise ConfigError(f"{p} line {n}: a token must be at least {MIN_TOKEN} characters without spaces")
        tokens[token] = name
    if not tokens:
        raise ConfigError(f"{p}: no token in the token file")
    return tokens


def load_jwks(path: str | Path) -> dict:
    """A JWK set file as a dict ``{"keys": [...]}``; ConfigError when it is not one."""
    import jwt

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        jwt.PyJWKSet.from_dict(data)
    except (OSError, UnicodeError, ValueError, jwt.PyJWTError, KeyError, TypeError) as exc:
        raise ConfigError(f"{p}: not a usable JWK set ({type(exc).__name__})") from None
    return data


class ReplayStore:
    """jti values seen, each until its token expires; one store for the server (every request passes
    through this process; the checking workers never see a token)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, key: str, expires: float) -> bool:
        now = time.time()
        with self._lock:
            if len(self._seen) > 1000:
                for k in [k for k, exp in self._seen.items() if exp + LEEWAY < now]:
                    del self._seen[k]
            if key in self._seen and self._seen[key] + LEEWAY >= now:
                return False
            self._seen[key] = expires
            return True


class _NoRedirect:
    """urllib handler: a redirect is an error (the allow-list names the URL that is fetched)."""

    @staticmethod
    def handler():
        import urllib.request

        class H(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        return H()


@dataclass
class Auth:
    """The authentication a service was started with (empty: none; only allowed on loopback)."""

    tokens: dict[str, str] = field(default_factory=dict)
    jwks: dict | None = None
    jku: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    public_url: str = ""
    algorithms: tuple[str, ...] = ALGORITHMS
    required: bool = False  # refuse calls a configured method does not cover (an exposed service)
    replays: ReplayStore = field(default_factory=ReplayStore)
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)
    _local: Any = None

    @property
    def configured(self) -> bool:
        return bool(self.tokens) or self.hooks_configured

    @property
    def hooks_configured(self) -> bool:
        return bool((self.jwks or self.jku) and self.issuers)

    def check_config(self) -> None:
        if (self.jwks or self.jku) and not self.issuers:
            raise ConfigError("CDS Hooks authentication needs --issuer (the EHR's iss values allowed)")
        if self.issuers and not (self.jwks or self.jku):
            raise ConfigError("--issuer needs keys: --jwks FILE (a JWK set) and/or --jku URL (allowed key URLs)")
        if self.hooks_configured and not self.public_url:
            raise ConfigError("CDS Hooks authentication needs --public-url (the service's URL the EHR calls: "
                              "the JWT's aud)")
        for url in self.jku:
            parts = urlsplit(url)
            local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
            if not (parts.scheme == "https" or local) or not parts.hostname:
                raise ConfigError(f"--jku {url[:80]!r}: a key-set URL must be https:// (http only on this machine)")
        bad = [a for a in self.algorithms if a not in ALGORITHMS]
        if bad:
            raise ConfigError(f"algorithms not allowed: {', '.join(bad)}")

    # ------------------------------------------------------------------ bearer tokens
    def bearer(self, header: str | None) -> str:
        """The caller's name for ``Authorization: Bearer <token>``; AuthError otherwise."""
        if not self.tokens:
            if self.required:
                raise AuthError("E713", Errors.E713.format(detail="this service was started without a token "
                                                                  "file (--token-file)"))
            return "local"
        token = _bearer_value(header)
        if token is None:
            raise AuthError("E713", Errors.E713.format(detail="send Authorization: Bearer <token>"))
        found = ""
        for known, name in self.tokens.items():  # every token compared, in constant time each
            if hmac.compare_digest(known.encode(), token.encode()):
                found = name
        if not found:
            raise AuthError("E714", Errors.E714)
        return found

    # ------------------------------------------------------------------ CDS Hooks JWT
    def audiences(self) -> list[str]:
        base = self.public_url.rstrip("/")
        from .cds_hooks import SERVICE_ID

        return [base, base + "/", f"{base}/cds-services/{SERVICE_ID}", f"{base}/cds-services"]

    def hook_caller(self, header: str | None) -> str:
        """The caller (``sub``, else ``iss``) of a CDS Hooks call; AuthError otherwise."""
        if not self.hooks_configured:
            if self.required:
                raise AuthError("E713", Errors.E713.format(detail="CDS Hooks calls need the EHR's JWT: start "
                                                                  "serve with --jwks or --jku, --issuer and "
                                                                  "--public-url"))
            return "local"
        import jwt

        token = _bearer_value(header)
        if token is None:
            raise AuthError("E713", Errors.E713.format(detail="send the EHR's JWT as Authorization: Bearer <jwt>"))
        try:
            head = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("E715", Errors.E715.format(detail="not a JWT")) from None
        alg = head.get("alg")
        if alg not in self.algorithms:
            raise AuthError("E715", Errors.E715.format(detail="its algorithm is not allowed"))
        key = self._key(head)
        try:
            claims = jwt.decode(token, key=key, algorithms=list(self.algorithms), audience=self.audiences(),
                                issuer=list(self.issuers), leeway=LEEWAY,
                                options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.ExpiredSignatureError:
            raise AuthError("E717", Errors.E717.format(detail="it has expired")) from None
        except jwt.ImmatureSignatureError:
            raise AuthError("E717", Errors.E717.format(detail="its iat is in the future")) from None
        except jwt.InvalidIssuerError:
            raise AuthError("E716", Errors.E716.format(detail="its issuer is not allowed")) from None
        except jwt.InvalidAudienceError:
            raise AuthError("E716", Errors.E716.format(detail="its audience is not this service")) from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError("E715", Errors.E715.format(detail=f"the {exc.claim} claim is missing")) from None
        except jwt.InvalidSignatureError:
            raise AuthError("E715", Errors.E715.format(detail="its signature does not verify")) from None
        except jwt.PyJWTError:
            raise AuthError("E715", Errors.E715.format(detail="it is malformed")) from None
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            raise AuthError("E715", Errors.E715.format(detail="iat and exp must be numbers"))
        if iat < now - MAX_AGE - LEEWAY:
            raise AuthError("E717", Errors.E717.format(detail="its iat is too old"))
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError("E715", Errors.E715.format(detail="the jti claim is missing"))
        if not self.replays.first_use(f"{claims['iss']}\0{jti}", float(exp)):
            raise AuthError("E718", Errors.E718)
        sub = claims.get("sub")
        who = sub if isinstance(sub, str) and sub else claims["iss"]
        return _printable(who)

    def _key(self, head: dict):
        """The verification key for a JWT header: its kid in the local set, else in an allowed jku's set."""
        import jwt

        kid = head.get("kid")
        jku = head.get("jku")
        sets = []
        if jku is not None:
            if not isinstance(jku, str) or jku not in self.jku:
                raise AuthError("E719", Errors.E719.format(detail="its jku is not on the allow-list (--jku)"))
            sets.append(self._fetch(jku))
        if self.jwks is not None:
            if self._local is None:  # parsed once
                self._local = jwt.PyJWKSet.from_dict(self.jwks)
            sets.append(self._local)
        if not sets and len(self.jku) == 1:
            sets.append(self._fetch(self.jku[0]))
        for ks in sets:
            for k in ks.keys:
                if kid is None or k.key_id == kid:
                    if k.algorithm_name and head.get("alg") and k.algorithm_name != head.get("alg"):
                        continue
                    return k.key
        if jku is not None:  # the EHR may have rotated its keys: fetch again once, then give up
            ks = self._fetch(jku, refresh=True)
            for k in ks.keys:
                if kid is None or k.key_id == kid:
                    return k.key
        raise AuthError("E715", Errors.E715.format(detail="no key of the key set matches its kid"))

    def _fetch(self, url: str, refresh: bool = False):
        """The JWK set at an allowed URL: cached JWKS_TTL seconds; timeout, size cap, no redirects."""
        import urllib.request

        import jwt

        with self._cache_lock:
            hit = self._cache.get(url)
            if hit is not None and time.monotonic() - hit[0] < (30.0 if refresh else JWKS_TTL):
                return hit[1]
        opener = urllib.request.build_opener(_NoRedirect.handler())
        try:
            with opener.open(urllib.request.Request(url, headers={"Accept": "application/json"}),
                             timeout=FETCH_TIMEOUT) as resp:
                if resp.status != 200:
                    raise ValueError("status")
                data = resp.read(MAX_JWKS_BYTES + 1)
            if len(data) > MAX_JWKS_BYTES:
                raise ValueError("too large")
            ks = jwt.PyJWKSet.from_dict(json.loads(data))
        except AuthError:
            raise
        except Exception:  # noqa: BLE001 - any failure of the fetch is one refusal, never its message
            if hit is not None:
                return hit[1]
            raise AuthError("E719", Errors.E719.format(detail="the key set at its jku cannot be fetched")) \
                from None
        with self._cache_lock:
            self._cache[url] = (time.monotonic(), ks)
        return ks


def _bearer_value(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _printable(value: str) -> str:
    """A caller name fit for a log line: printable, no spaces, at most 100 characters."""
    return "".join(c if c.isprintable() and not c.isspace() else "_" for c in value)[:100] or "-"
