"""notechecker: does a spine operative note document what its CPT codes require?

Imports are lazy so that ``notechecker --help`` starts fast; the pipeline loads on
first use.
"""
from .version import __version__

__all__ = ["load", "extract", "check", "check_many", "scan", "Facts", "__version__"]


def __getattr__(name):
    if name in ("load", "extract"):
        from . import api

        return getattr(api, name)
    if name in ("check", "check_many"):
        from . import service

        return getattr(service, name)
    if name == "scan":
        from .batch import scan

        return scan
    if name == "Facts":
        from .facts import Facts

        return Facts
    raise AttributeError(f"module 'notechecker' has no attribute {name!r}")
