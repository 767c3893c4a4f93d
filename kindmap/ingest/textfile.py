"""Stream a text file in a named encoding, saying exactly where it stops being that encoding.

Used by the CSV readers so a large file is read line by line (its rows counted as they
arrive) instead of being decoded whole; no database or web imports.
"""

from __future__ import annotations

import codecs
import io
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kindmap.errors import DataError, InvalidQuery

SAMPLE_CHARS = 65536  # the start of a file a reader may look at first (e.g. to guess the delimiter)
_HINT = "Save it as UTF-8 CSV, or if it came from Excel on Windows pass --encoding cp1252."


def codec_for(encoding: str) -> str:
    """Python's codec for ``encoding`` (UTF-8 accepts a BOM); ``InvalidQuery`` if unknown."""
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        codecs.lookup(codec)
    except LookupError:
        raise InvalidQuery(f"unknown encoding {encoding!r}; try utf-8 or cp1252") from None
    return codec


@contextmanager
def text_lines(path: Path, *, encoding: str = "utf-8") -> Iterator[tuple[str, Iterable[str]]]:
    """``(sample, lines)``: the file's first ``SAMPLE_CHARS`` characters, and every line (endings kept).

    Lines are decoded as they are read. A byte that is not ``encoding`` raises ``DataError``
    naming its offset and line, whether it is met in the sample or later.
    """
    path = Path(path)
    codec = codec_for(encoding)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    with handle, io.TextIOWrapper(handle, encoding=codec, newline="") as stream:
        try:
            sample = stream.read(SAMPLE_CHARS)
            head = sample + stream.readline()  # finish the line the sample ends in
            yield sample, itertools.chain(io.StringIO(head, newline=""), stream)
        except UnicodeDecodeError:
            raise decode_failure(path, encoding=encoding) from None


def decode_failure(path: Path, *, encoding: str) -> DataError:
    """Where ``path`` first fails to decode (exact byte offset and line), found by streaming it in chunks."""
    codec, offset, lines = codec_for(encoding), 0, 0
    with Path(path).open("rb") as handle:
        if codec == "utf-8-sig":  # skip the BOM by hand: that codec reports offsets after it
            codec = "utf-8"
            if handle.read(3) == codecs.BOM_UTF8:
                offset = 3
            else:
                handle.seek(0)
        decoder = codecs.getincrementaldecoder(codec)()
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            pending = len(decoder.getstate()[0])  # undecoded bytes carried over from the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                line = lines + exc.object[pending:max(exc.start, pending)].count(b"\n") + 1
                return DataError(f"{Path(path).name} is not valid {encoding} text (byte {at}, line {line}: "
                                 f"{exc.object[exc.start:exc.start + 1]!r}). {_HINT}")
            offset += len(chunk)
            lines += chunk.count(b"\n")
    return DataError(f"{Path(path).name} is not valid {encoding} text: it ends in the middle of a character. {_HINT}")
