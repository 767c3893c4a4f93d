"""SQLModel tables and their wire-format siblings, one module per domain."""

from kindmap.models import accounts, activities, audit, households  # noqa: F401  (accounts, households, activities, audit)
from kindmap.models.areas import Area, AreaPublic, Postcode, Region, RegionPublic
from kindmap.models.catalogue_version import CatalogueVersion  # noqa: F401
from kindmap.models.contributions import KindnessNote  # noqa: F401
from kindmap.models.extras import PlaceExtra
from kindmap.models.imports import ImportRun
from kindmap.models.localities import Locality
from kindmap.models.places import (
    Accessibility,
    Listing,
    Place,
    PlaceCreate,
    PlacePublic,
    PlaceStatus,
    WelcomeCriteria,
    Wheelchair,
)
from kindmap.models.provenance import FieldGroup, LocalFact, PlaceSource  # noqa: F401
from kindmap.models.review import ReviewItem, ReviewKind, ReviewOutcome, ReviewStatus  # noqa: F401

__all__ = [
    "Accessibility",
    "Area",
    "AreaPublic",
    "ImportRun",
    "Listing",
    "Locality",
    "Place",
    "PlaceCreate",
    "PlaceExtra",
    "PlacePublic",
    "PlaceStatus",
    "Postcode",
    "Region",
    "RegionPublic",
    "WelcomeCriteria",
    "Wheelchair",
]
