"""A walking network's search structures stored beside it, ready to memory-map.

Building them — the CSR graph with parallel edges merged, the KD-tree over ≤25 m pieces of
every edge, the node grid — cost 2.5 s at 10⁶ nodes, and every server worker did it again in
its own memory. Stored once (when the network is built, or by the first process that finds
them missing or older than the network), they load as read-only memory maps: a first query
waits only for the pages it touches, and workers share those pages through the page cache.
scipy copies the KD-tree's node buffer (~13 bytes per piece), so that part is each worker's own.

Files: ``<networks>/prepared/<slug>.npz`` beside ``<networks>/<slug>.npz``, stamped with the
network file's size and modification time, for one profile's edges (the default profile's).
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from kindmap.geo.graph import Router
from kindmap.geo.mapped import mapped_arrays, save_npz_aligned
from kindmap.geo.network import WalkNetwork
from kindmap.geo.profiles import Profile, as_profile

log = logging.getLogger(__name__)

PREPARED_VERSION = 2  # 2: arrays 64-byte aligned in the file
_META = ("prepared_version", "network_stamp", "avoid_key")


def prepared_path(network_path: Path) -> Path:
    """Where the search structures of the network stored at ``network_path`` go."""
    network_path = Path(network_path)
    return network_path.parent / "prepared" / network_path.name


def _stamp(network_path: Path) -> np.ndarray:
    st = Path(network_path).stat()
    return np.array([st.st_size, st.st_mtime_ns], dtype=np.int64)


def save_prepared(router: Router, network_path: Path, profile: Profile | str) -> Path:
    """Write the router's structures for ``profile`` beside the network file (atomically)."""
    prof = as_profile(profile)
    target = prepared_path(network_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.npz")
    # stored, not compressed, each array aligned: each can be memory-mapped and used as it is
    save_npz_aligned(partial, {"prepared_version": np.int64(PREPARED_VERSION), "network_stamp": _stamp(network_path),
                               "avoid_key": np.array(prof.avoid_key, dtype=bool), **router.prepared(prof)})
    partial.replace(target)
    return target


def load_prepared(network_path: Path, profile: Profile | str) -> dict[str, np.ndarray] | None:
    """The stored structures as read-only memory maps, or None when missing, stale or unreadable."""
    target = prepared_path(network_path)
    if not target.is_file():
        return None
    try:
        with np.load(target, allow_pickle=False) as data:
            if (int(data["prepared_version"]) != PREPARED_VERSION
                    or not np.array_equal(data["network_stamp"], _stamp(network_path))
                    or tuple(bool(v) for v in data["avoid_key"]) != as_profile(profile).avoid_key):
                return None
            names = [name for name in data.files if name not in _META]
        return mapped_arrays(target, names)
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile):
        return None


def load_router(network_path: Path, profile: Profile | str, *, save: bool = True) -> Router:
    """A router for the stored network with ``profile``'s structures ready: memory-mapped when stored,
    else built now (and stored for next time and for other workers, when ``save``)."""
    router = Router(WalkNetwork.load(network_path))
    arrays = load_prepared(network_path, profile)
    if arrays is not None:
        return router.adopt(profile, arrays)
    router.warm(profile)
    if save:
        try:
            save_prepared(router, network_path, profile)
        except OSError as exc:  # a read-only state folder: it still works, only slower to start
            log.warning("could not store the search structures of %s (%s)", network_path, exc)
    return router
