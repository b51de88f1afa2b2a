"""A Dask client for the batch analyses: of a real cluster's scheduler, or of a local one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster


@contextmanager
def dask_client(*, workers: int, scheduler: str | None = None, processes: bool = True) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler`` (``BEATBOOK_DASK_SCHEDULER``) or, without
    one, of a local cluster of ``workers`` workers of one thread each, shut down after.

    One thread a worker: much of the analyses (pandas, the Python between numpy calls)
    holds the GIL, so workers are processes (``processes=False`` makes them threads of this
    one, which starts faster).
    """
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # The scheduler's web server on any free port: another cluster on this machine may hold 8787.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=":0") \
            as cluster, Client(cluster) as client:
        yield client
