"""Pairing vanished and new source records that are the same place, on tiny synthetic cases."""

from __future__ import annotations

from kindmap.models import PlaceCreate
from kindmap.services.imports.remap import Known, find_twin, pair_remapped

# ~0.0009° of latitude is 100 m.


def _new(sid: str, name: str, lon: float, lat: float, category: str = "place_of_worship") -> PlaceCreate:
    return PlaceCreate(name=name, category=category, lon=lon, lat=lat, source="osm", source_id=sid)


def test_same_name_kind_and_place_is_paired():
    known = [Known("node/1", "St. Peter's", "place_of_worship", -0.7, 52.6)]
    pairs = pair_remapped(known, [_new("way/9", "Saint Peter's", -0.7001, 52.6001)])
    assert [(p.old, p.new.source_id) for p in pairs] == [("node/1", "way/9")] and pairs[0].distance_m < 20


def test_too_far_other_kind_or_other_name_is_not_paired():
    known = [Known("node/1", "Grace Chapel", "place_of_worship", -0.7, 52.6)]
    assert pair_remapped(known, [_new("way/9", "Grace Chapel", -0.7, 52.6009)]) == []  # 100 m
    assert pair_remapped(known, [_new("way/9", "Grace Chapel", -0.7, 52.6, category="community_centre")]) == []
    assert pair_remapped(known, [_new("way/9", "Hope Chapel", -0.7, 52.6)]) == []


def test_two_chapels_of_one_name_pair_nearest_first_one_to_one():
    known = [Known("node/1", "Chapel", "place_of_worship", -0.7, 52.6),
             Known("node/2", "Chapel", "place_of_worship", -0.7, 52.6005)]
    new = [_new("way/8", "Chapel", -0.7, 52.60048), _new("way/9", "Chapel", -0.7, 52.60002)]
    pairs = {p.old: p.new.source_id for p in pair_remapped(known, new)}
    assert pairs == {"node/1": "way/9", "node/2": "way/8"}


def test_twin_is_the_same_place_still_listed_nearby():
    gone = Known("node/1", "Barnsdale Gardens", "park", -0.6528, 52.6873)
    listed = [Known("relation/5", "Barnsdale Gardens", "park", -0.6516, 52.6876),
              Known("way/6", "Barnsdale Gardens", "park", -0.60, 52.60)]
    twin, metres = find_twin(gone, listed)
    assert twin.key == "relation/5" and 50 < metres < 150
    assert find_twin(gone, listed[1:]) is None
