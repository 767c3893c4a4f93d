"""Domain errors. Services raise these; the API and CLI translate them once, at the edge."""

from __future__ import annotations


class KindmapError(Exception):
    """Base of every error a user can fix; ``message`` says what to fix."""

    status_code = 400

    def __init__(self, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidQuery(KindmapError):
    """A request or command option is out of range or malformed."""

    status_code = 422


class NoMapData(InvalidQuery):
    """A point inside a region where its map data has nothing to walk on (outside the extract, or a hole in it)."""


class NotFound(KindmapError):
    """A thing asked for does not exist (or is not visible to the caller)."""

    status_code = 404


class DataError(KindmapError):
    """An input file is unreadable, truncated, or missing required columns."""

    status_code = 422

    @classmethod
    def unreadable_osm(cls, path, exc: Exception) -> DataError:
        """libosmium's complaint about a broken extract, with what to do (one wording for every reader)."""
        return cls(f"{path} is not a readable OSM file ({exc}); download a fresh extract (.osm.pbf)")


class Conflict(KindmapError):
    """The request clashes with the current state (e.g. an older extract)."""

    status_code = 409


class Forbidden(KindmapError):
    """The caller is known but may not do this."""

    status_code = 403


class Unauthorized(KindmapError):
    """No valid credentials were given."""

    status_code = 401


class PayloadTooLarge(KindmapError):
    """A body or upload is over the published limit."""

    status_code = 413


class RateLimited(KindmapError):
    """Too many requests from one client; ``retry_after`` is in seconds."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
