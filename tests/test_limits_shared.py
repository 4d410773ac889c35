"""The per-client ticket limits counted in PostgreSQL (hall/limits_shared.py) answer as the
in-memory counts of one process do (hall/limits.py): the same takes let through, the same
refusals, the same wait. On a real PostgreSQL server whatever the run's backend, as the
several processes that need it exist only there (tests/test_cluster.py holds them to it
behind the balancer)."""

from __future__ import annotations

import asyncio
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall.limits import TicketLimits
from hall.limits_shared import SharedLimits
from hall.store_pg import PgStore
from tests import backends

_runs = itertools.count()

# (seconds since the previous take, who: two addresses and a kiosk)
TAKES = st.lists(st.tuples(st.floats(0, 40, allow_nan=False),
                           st.sampled_from(["a", "b", "kiosk"])), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    os.environ["HALL_DATA_DIR"] = str(tmp_path_factory.mktemp("var"))
    return backends.cluster().database()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(takes=TAKES, per_minute=st.integers(0, 4), per_day=st.integers(0, 7),
       day_after=st.integers(5, 40))
def test_the_database_counts_as_one_process_does(db: str, takes: list[tuple[float, str]],
                                                 per_minute: int, per_day: int,
                                                 day_after: int) -> None:
    run = next(_runs)

    async def compare() -> None:
        store = await PgStore.open(db)
        try:
            shared = SharedLimits(store, per_minute, per_day, per_minute + 1, per_day + 2)
            local = TicketLimits(per_minute, per_day, per_minute + 1, per_day + 2)
            now = 1_800_000_000.0 + run * 100_000
            for i, (gap, who) in enumerate(takes):
                now += gap
                day = f"2026-12-{2 + (i >= day_after):02d}"  # the hall's day turns once
                kiosk = f"kiosk-{run}" if who == "kiosk" else None
                address = f"10.{run % 250}.0.{ord(who[0])}"
                want = local.take(kiosk, address, now, day)
                got = await shared.claim(kiosk, address, now, day)
                assert (got is None) == (want is None), (i, got, want)
                if got is not None and want is not None:
                    assert got.per == want.per
                    assert abs(got.retry_after - want.retry_after) < 1e-6
        finally:
            await store.close()

    asyncio.run(compare())
