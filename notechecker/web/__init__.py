"""The web face: a pre-sign-off page for surgeons and a small JSON API.

``create_app()`` builds the FastAPI application; ``run()`` serves it on localhost.
The page (``static/index.html``) is self-contained: no asset comes from the internet.
"""
from __future__ import annotations

__all__ = ["create_app", "run"]


def __getattr__(name):
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'notechecker.web' has no attribute {name!r}")
