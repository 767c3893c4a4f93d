"""ASGI entry for multi-worker serving: ``uvicorn kindmap.api.asgi:app``."""

import os

from kindmap.api.app import create_app

app = create_app(demo=bool(os.environ.get("KINDMAP_DEMO")), freeze_gc=True)
