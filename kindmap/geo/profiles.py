"""Walking profiles: a pace and which edges to avoid.

Speeds are in km/h, walked along the network. The built-ins:

* ``walk`` 4.8 km/h — the usual planning pace for adults (≈ 3 mph, as used by
  e.g. TfL and OpenTripPlanner defaults).
* ``slow`` 3.0 km/h — older people and people with limited mobility; studies of
  pedestrians over 65 and crossing-time guidance put comfortable pace at 0.8–0.9 m/s.
* ``step_free`` 3.6 km/h (1.0 m/s) — typical self-propelled manual wheelchair and
  walking-frame speed in community studies; avoids ``highway=steps`` and ``wheelchair=no``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kindmap.errors import InvalidQuery

MIN_SPEED_KMH = 0.5
MAX_SPEED_KMH = 10.0


@dataclass(frozen=True)
class Profile:
    """A walking profile: name, speed in km/h, and which edge kinds it avoids."""

    name: str
    speed_kmh: float
    avoid_steps: bool = False
    avoid_wheelchair_no: bool = False

    @property
    def metres_per_minute(self) -> float:
        """Pace in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    @property
    def avoid_key(self) -> tuple[bool, bool]:
        """Profiles with the same key share one weighted graph (only the speed differs)."""
        return (self.avoid_steps, self.avoid_wheelchair_no)

    def minutes(self, metres: float) -> float:
        """Minutes to walk a distance in metres at this profile's pace."""
        return metres / self.metres_per_minute


BUILTIN_PROFILES: dict[str, Profile] = {
    "walk": Profile("walk", 4.8),
    "slow": Profile("slow", 3.0),
    "step_free": Profile("step_free", 3.6, avoid_steps=True, avoid_wheelchair_no=True),
}


def get_profile(name: str, *, speeds: dict[str, float] | None = None) -> Profile:
    """The named built-in profile, with its speed (km/h) overridden from ``speeds`` if given."""
    base = BUILTIN_PROFILES.get(name)
    if base is None:
        valid = ", ".join(sorted(BUILTIN_PROFILES))
        raise InvalidQuery(f"unknown walking profile {name!r}; choose one of: {valid}")
    if speeds and name in speeds:
        speed = float(speeds[name])
        if not (MIN_SPEED_KMH <= speed <= MAX_SPEED_KMH):
            raise InvalidQuery(
                f"walking speed for {name!r} must be between {MIN_SPEED_KMH} and {MAX_SPEED_KMH} km/h, got {speed}"
            )
        return Profile(name, speed, base.avoid_steps, base.avoid_wheelchair_no)
    return base


def as_profile(profile: Profile | str) -> Profile:
    """Accept a Profile or the name of a built-in one."""
    return profile if isinstance(profile, Profile) else get_profile(profile)
