"""``scan --engine spark``: starting (and stopping) the Spark session the scan runs on."""
from __future__ import annotations

from typing import Optional

from .app import err, usage


class SparkRun:
    """scan --engine spark: the session (stopped at the end when scan started it) and its engine."""

    def __init__(self, master: Optional[str]):
        from pyspark.sql import SparkSession

        from ..spark import SparkEngine, session

        self.owned = SparkSession.getActiveSession() is None
        self.spark = session(master)
        self.engine = SparkEngine(self.spark)

    def close(self) -> None:
        if self.owned:
            self.spark.stop()


def spark_engine(engine: str, master: Optional[str], workers: int | str) -> Optional[SparkRun]:
    if engine not in ("local", "spark"):
        raise usage(f"--engine must be local or spark, not {engine!r}")
    if engine == "local":
        if master:
            raise usage("--spark-master needs --engine spark")
        return None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise usage("--engine spark needs pyspark: pip install 'notechecker[spark]'") from None
    if workers not in (1, "auto"):
        err("warning: --workers applies to the local engine; Spark runs one task per core it is given")
    try:
        spark_run = SparkRun(master)
    except Exception as exc:  # no Java, a bad master URL, a cluster out of reach
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else exc.__class__.__name__
        raise usage(f"cannot start Spark ({first}); --engine spark needs Java 17 or later (JAVA_HOME) "
                     f"and a reachable --spark-master") from None
    conf = spark_run.spark.conf
    err(f"spark: master {conf.get('spark.master', '?')}, {spark_run.engine.partitions} partitions a wave, "
         f"app {conf.get('spark.app.name', '?')}")
    return spark_run

