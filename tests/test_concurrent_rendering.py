"""Several sessions building charts and tables at once must not deadlock.

A Python callback inside polars (map_elements) in one thread, and to_pandas() holding the
GIL in another, hung the server under load; charts now build their text columns in Python."""

from __future__ import annotations

import threading

from amnstats import store
from amnstats.ui import charts, export
from amnstats.ui.headlines import headlines


def test_parallel_chart_and_table_building_finishes():
    obs = store.load_observations()
    errors: list[BaseException] = []

    def session() -> None:
        try:
            for _ in range(15):
                spec = charts.bars(obs, "jobbtorg", "inskrivna", by="group", period="2023",
                                   genders=("kvinnor", "män", "totalt"))
                export._formatted(spec.table).to_pandas()
                trend = charts.trend(obs, "unemployment", "arbetsloshet_bas", group="20-64 år")
                trend.table.frame.to_pandas()
                headlines(obs).to_pandas()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=session, daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "chart building deadlocked across threads"
    assert not errors, errors
