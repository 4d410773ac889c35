"""The yardstick: a bare Starlette + aiosqlite endpoint that inserts one row per request, WAL
and synchronous=FULL, one transaction per request under a lock (the correct way to share one
aiosqlite connection). `bench/run.py` measures hall against it in the same run, so the ratio
means something on a machine whose speed drifts."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import aiosqlite
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DB = os.environ.get("BASELINE_DB", "/tmp/baseline.db")
state: dict[str, object] = {}


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    db = await aiosqlite.connect(DB, isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    state["db"], state["lock"] = db, asyncio.Lock()
    yield
    await db.close()


async def insert(request: Request) -> JSONResponse:
    body = await request.body()
    db: aiosqlite.Connection = state["db"]  # type: ignore[assignment]
    async with state["lock"]:  # type: ignore[attr-defined]
        await db.execute("BEGIN")
        cur = await db.execute("INSERT INTO t (body) VALUES (?)", (body.decode(),))
        await db.execute("COMMIT")
    return JSONResponse({"id": cur.lastrowid}, status_code=201)


app = Starlette(routes=[Route("/api/tickets", insert, methods=["POST"])], lifespan=lifespan)
