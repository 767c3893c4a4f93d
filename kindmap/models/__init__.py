"""SQLModel tables and their wire-format siblings, one module per domain."""

from kindmap.models.areas import Area, AreaPublic, Postcode, Region, RegionPublic
from kindmap.models.imports import ImportRun
from kindmap.models.places import (
    Accessibility,
    Place,
    PlaceCreate,
    PlacePublic,
    PlaceStatus,
    WelcomeCriteria,
    Wheelchair,
)

__all__ = [
    "Accessibility",
    "Area",
    "AreaPublic",
    "ImportRun",
    "Place",
    "PlaceCreate",
    "PlacePublic",
    "PlaceStatus",
    "Postcode",
    "Region",
    "RegionPublic",
    "WelcomeCriteria",
    "Wheelchair",
]
