"""Settings, read from the environment with the prefix ``KINDMAP_``.

This module imports nothing else from kindmap, so every layer may depend on it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent

ATTRIBUTION = (
    "Map data © OpenStreetMap contributors (ODbL). Contains OS data © Crown copyright "
    "and database right. Contains public sector information licensed under the Open "
    "Government Licence v3.0."
)


def _bundled(name: str, installed: str) -> Path:
    """Return the project's own folder: inside the wheel when installed, else the checkout."""
    inside = PACKAGE_DIR / installed
    return inside if inside.is_dir() else SOURCE_ROOT / name


def project_geodata_dir() -> Path:
    """The project's own data files: taxonomy, tag mappings, region manifests."""
    return _bundled("geodata", "_geodata")


def web_dir() -> Path:
    """The public web page and its locally served assets."""
    return _bundled("web", "_web")


def default_data_dir() -> Path:
    """Where the real open data lives: ``../shared/geodata`` beside the project when it exists.

    The working directory is tried first (the README runs commands from the project
    root), then the source checkout, so both ``pip install .`` and editable installs work.
    """
    for root in (Path.cwd(), SOURCE_ROOT):
        candidate = (root / ".." / "shared" / "geodata").resolve()
        if candidate.is_dir():
            return candidate
    return (Path.cwd() / "geodata-download").resolve()


def default_state_dir() -> Path:
    """Per-user folder for the database and derived files (walking networks)."""
    return Path(user_data_dir("kindmap", appauthor=False))


class Settings(BaseSettings):
    """All runtime settings; every field can be set as ``KINDMAP_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="KINDMAP_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means an SQLite file in the per-user data directory.",
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Folder of real open data.")
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Folder for the default database and derived files such as walking networks.",
    )
    sqlite_synchronous: str = Field(default="NORMAL", pattern="^(NORMAL|FULL)$")
    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Background map tiles; the map still works (markers and list) when they cannot load.",
    )
    tile_attribution: str = "© OpenStreetMap contributors"
    timezone: str = Field(default="Europe/London", description="Local time zone for opening hours.")
    default_radius_m: float = Field(default=3000.0, gt=0)
    max_radius_m: float = Field(default=100_000.0, gt=0)
    max_limit: int = Field(default=500, gt=0)
    download_timeout_s: float = Field(default=20.0, gt=0)
    walking_speeds: dict[str, float] = Field(
        default_factory=dict,
        description='Override profile speeds in km/h, e.g. {"slow": 2.5}; profiles: walk 4.8, slow 3.0, step_free 3.6.',
    )
    circuity: float = Field(
        default=1.3, ge=1.0, le=3.0,
        description="Detour factor for straight-line walking estimates where a region has no path network.",
    )
    stale_after_days: int = Field(default=365, gt=0, description="Facts older than this are marked 'may be out of date'.")
    region_margin_m: float = Field(
        default=2000.0, ge=0, description="How far outside a region's boundary a walking search may start."
    )
    log_level: str = "INFO"

    # Limits (published in the API docs; see kindmap/api/limits.py).
    max_body_kb: int = Field(default=1024, gt=0, description="Largest request body in KiB (413 past it).")
    max_bbox_km2: float = Field(default=250_000.0, gt=0,
                                description="Largest bbox /api/places lists, in km² (422 past it; about the area of Great Britain, "
                                            "far more than any council; the map shows clusters beyond it).")
    max_upload_mb: int = Field(default=200, gt=0,
                               description="Largest file an import reads (CSV, ORUK JSON, OSM extract), in MiB.")
    max_import_rows: int = Field(default=200_000, gt=0, description="Most rows (records) one import may hold.")
    max_extract_mb: int = Field(default=4096, gt=0,
                                description="Largest OSM extract `import osm` and `region setup` clip to a council, in "
                                            "MiB (England is ~1.5 GB). The extract is streamed, not held: its size "
                                            "costs scan time and temporary disk for node locations, not memory.")
    login_attempts_per_account: int = Field(default=10, gt=0, description="Sign-in attempts per account per window.")
    login_attempts_per_client: int = Field(default=30, gt=0, description="Sign-in attempts per client per window.")
    login_window_s: int = Field(default=900, gt=0, description="Window for the sign-in limits, in seconds.")
    cost_budget: float = Field(
        default=60, gt=0,
        description="Cost units each client may spend at once on walking areas, walking-time searches and exports "
                    "(a 15-minute walking area costs 1, 60 minutes 4, an export 4); 429 past it.")
    cost_refill_per_min: float = Field(default=30, gt=0, description="Cost units given back to each client per minute.")
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IPs or CIDR networks of your reverse proxies; X-Forwarded-For and "
                    "X-Forwarded-Proto are believed only from them. Empty (the default) trusts none.")
    catalog_recheck_s: float = Field(
        default=1.0, ge=0,
        description="How often a server re-checks the database for places changed by other processes, in seconds "
                    "(changes made through this server are seen at once).")
    # Council counts of places where links grow (kindmap/services/households/link_counts.py): disclosure control.
    link_counts_min_age_days: int = Field(
        default=28, ge=0,
        description="Links count only once recorded this many days ago, so a fresh batch cannot be tested at once.")
    link_counts_min_carers: int = Field(
        default=3, ge=1, description="A published cell needs households of at least this many distinct carers.")
    link_counts_rounding: int = Field(
        default=5, ge=1, description="Published counts are rounded to a multiple of this, so differences are not exact.")
    # Logs: never personal data (see kindmap/api/security.py).
    log_format: str = Field(default="text", pattern="^(text|json)$",
                            description="'text' for people, 'json' (one object per line) for log collectors.")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        # Checked here so a typo stops the server at start-up instead of silently trusting nobody
        # (or, worse, being read some other way by uvicorn, which takes unknown words as literals).
        entries = [item.strip() for item in value.split(",")] if value.strip() else []
        for number, item in enumerate(entries, 1):
            try:  # one spelling (10.0.0.0/8, not 10.0.0.5/8), which the app and uvicorn read alike
                entries[number - 1] = str(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"KINDMAP_TRUSTED_PROXIES takes IP addresses or CIDR networks separated by "
                                 f"commas (e.g. 127.0.0.1,10.0.0.0/8); entry {number} is neither") from None
        return ",".join(entries)

    def resolved_database_url(self, *, demo: bool = False) -> str:
        """The database URL to use: ``KINDMAP_DATABASE_URL``, or else the demo database.

        Until a database is configured every command (serve, user, scheme, gaps, review…) acts on
        one file, ``demo.sqlite3`` in the state directory, so a newcomer's commands all act on the
        demo they are looking at. Real data goes in a configured database, never mixed with the
        demo. ``demo`` is kept for callers that still pass it; it no longer changes the answer.
        """
        del demo
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'demo.sqlite3'}"


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process (tests build their own ``Settings``)."""
    return Settings()
