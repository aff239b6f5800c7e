"""The version of notechecker (one place: the package, checkpoints, reports and the API say it)."""
__version__ = "0.1.0"
