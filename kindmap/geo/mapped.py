"""Arrays of a stored ``.npz`` as read-only memory maps (shared between processes through the page cache)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np


def mapped_arrays(path: Path, names) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` of an ``.npz`` as read-only memory maps, or None when the file is not a plain stored .npz.

    ``np.savez`` stores each array as a whole ``.npy`` member without compression, so each one
    is a contiguous run of the file after its zip and ``.npy`` headers.
    """
    out = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        members = {info.filename: info for info in zf.infolist()}
        for name in names:
            info = members.get(f"{name}.npy")
            if info is None or info.compress_type != zipfile.ZIP_STORED:
                return None
            fh.seek(info.header_offset)
            local = fh.read(30)
            if local[:4] != b"PK\x03\x04":
                return None
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(fh)
            if dtype.hasobject:
                return None
            count = int(np.prod(shape))
            if shape == ():  # a scalar: read it (a memory map needs at least one dimension)
                out[name] = np.frombuffer(fh.read(dtype.itemsize), dtype=dtype).reshape(())
                continue
            if count == 0:
                out[name] = np.zeros(shape, dtype)
                continue
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape, order="F" if fortran else "C")
    return out
