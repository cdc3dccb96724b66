"""A sweep on a Dask LocalCluster of two worker processes gives the serial table."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from realtime_widgets.evals.sweep import sweep
from tests.evals.clips import short_clips

GRID: dict[str, list[Any]] = {"threshold": [0.5, 0.7], "silence_duration_ms": [300, 800]}


@pytest.mark.slow
def test_a_local_cluster_of_two_processes_gives_the_serial_table() -> None:
    distributed = pytest.importorskip("distributed")
    clips = short_clips()
    serial = sweep(clips, GRID, baseline=False)
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        client = distributed.Client(cluster)
        try:
            # the Client itself, and its executor, are both accepted
            on_client = sweep(clips, GRID, executor=client, baseline=False, configs_per_task=1)
            on_executor = sweep(clips, GRID, executor=client.get_executor(), baseline=False)
            workers = client.run(lambda: 1)
        finally:
            client.close()
    finally:
        cluster.close()
    assert len(workers) == 2
    pd.testing.assert_frame_equal(on_client.table, serial.table)
    pd.testing.assert_frame_equal(on_executor.table, serial.table)
    assert on_client.measures == serial.measures
    assert serial.table["false_cutoff_rate"].tolist() == [1.0, 0.0, 1.0, 0.0]
