"""Hall services a test opens in-process (no HTTP), closed after the test even when it fails
midway: aiosqlite's thread would keep the test process alive otherwise. A module that opens
services imports `close_services` (so the autouse fixture applies there) and adds each
service it opens to `to_close`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hall.service import HallService

to_close: list[HallService] = []


@pytest.fixture(autouse=True)
async def close_services() -> AsyncIterator[None]:
    yield
    while to_close:
        await to_close.pop().close()
