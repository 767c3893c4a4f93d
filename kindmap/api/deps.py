"""Typed dependencies (after the FastAPI full-stack template's deps.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from kindmap.config import Settings
from kindmap.db import read_session


# async: FastAPI runs plain-def dependencies in a worker thread, a hop that cost more than
# these lookups; async ones run inline.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_client(request: Request) -> str | None:
    """The client's address: the connecting peer, or behind a trusted proxy the address it
    forwarded (``api/proxies.py`` has already put it in the scope). Rate limits and budgets
    key on this; ``X-Forwarded-For`` from anyone else is never read."""
    return request.client.host if request.client else None


def get_session(request: Request) -> Iterator[Session]:
    with read_session(request.app.state.engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
ClientDep = Annotated[str | None, Depends(get_client)]
