"""``notechecker serve``: the page, the HTTP API and CDS Hooks (:mod:`notechecker.web`)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import app, usage
from .options import max_chars_option, max_memory_option, memory_bytes, note_timeout_option


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (localhost by default)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port."),
    allowed_host: Optional[List[str]] = typer.Option(
        None, "--allowed-host", help="Another host name the service answers to (besides localhost, 127.0.0.1, "
                                     "[::1] and --host); requests naming any other Host get 421."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Worker processes checking notes in parallel."),
    note_timeout: float = note_timeout_option(),
    max_chars: int = max_chars_option(),
    max_memory: str = max_memory_option(),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="Bearer tokens for the page and "
                                              "/api/check, one 'name: token' a line (32+ characters)."),
    jwks: Optional[Path] = typer.Option(None, "--jwks", help="CDS Hooks: the EHR's public keys (a JWK set file)."),
    jku: Optional[List[str]] = typer.Option(None, "--jku", help="CDS Hooks: a key-set URL the EHR's JWT may "
                                            "name (jku), fetched with a timeout and cached; repeat for more."),
    issuer: Optional[List[str]] = typer.Option(None, "--issuer", help="CDS Hooks: an allowed JWT issuer (iss); "
                                               "repeat for more."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="CDS Hooks: this service's URL as the EHR "
                                             "calls it (the JWT's aud), e.g. behind a proxy."),
):
    """Serve the one-page note checker in a browser (and CDS Hooks for an EHR).

    Beyond 127.0.0.1 only with authentication: --token-file and/or the CDS Hooks JWT options."""
    from ..web.auth import Auth, ConfigError, load_jwks, load_tokens
    from ..web.server import run as run_server

    memory = memory_bytes(max_memory)
    try:
        auth = Auth(tokens=load_tokens(token_file) if token_file else {},
                    jwks=load_jwks(jwks) if jwks else None, jku=tuple(jku or ()), issuers=tuple(issuer or ()),
                    public_url=public_url or "")
        auth.check_config()
        run_server(host=host, port=port, allowed_hosts=tuple(allowed_host or ()), workers=workers,
                   note_timeout=note_timeout or None, max_chars=max_chars, auth=auth, max_memory=memory)
    except (ConfigError, ValueError) as exc:
        raise usage(str(exc)) from None

