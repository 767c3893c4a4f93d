"""Owner-only files and folders for whatever holds households (security issue 13, finding 7).

The database holds households, carers and their links: personal data. Under the usual umask 022
kindmap's folders came out 0755 and its files 0644, readable by every account on the machine.
Here, whatever the umask:

* a file is created 0600 before anything is written into it (``private_file``), so it is never
  readable by others, not even for a moment; SQLite gives a database's -wal and -shm files the
  database file's own mode, so they follow;
* each folder level kindmap makes is 0700 (``private_dir``); the state folder, kindmap's own, is
  also tightened to 0700 when it already exists and belongs to this account (``tighten=True``) —
  never a folder someone else owns, a shared sticky one such as /tmp, the root or the home folder;
* ``private_tree`` makes a folder kindmap has just written (the gap analysis) 0700, its files 0600.

Folders the operator chose and kindmap did not make keep their modes. On systems without POSIX
modes (Windows) these are no-ops. This module imports nothing from kindmap.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_POSIX = os.name == "posix"

log = logging.getLogger("kindmap")


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Make ``path`` and any missing parents as owner-only folders (0700). An existing ``path`` is
    tightened to 0700 only with ``tighten`` and only if it is this account's own (see the module doc)."""
    path = Path(path).expanduser()
    missing = []
    level = path
    while not os.path.lexists(level) and level != level.parent:
        missing.append(level)
        level = level.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it meanwhile; it is not ours to change
            continue
        if _POSIX:
            os.chmod(folder, PRIVATE_DIR)  # mkdir's mode passes through the umask
    if tighten and not missing:
        _tighten(path)
    return path


def _tighten(path: Path) -> None:
    if not _POSIX or not path.is_dir():
        return
    info = path.stat()
    if (info.st_uid != os.getuid() or info.st_mode & stat.S_ISVTX or path.resolve() == Path(path.anchor)
            or path.resolve() == Path.home().resolve()):
        return
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIR:
        os.chmod(path, PRIVATE_DIR)
        log.warning("made %s owner-only (0700): it holds the database and was open to other accounts", path)


def private_file(path: Path) -> Path:
    """Create ``path`` empty and owner-only (0600) if it does not exist; an existing file is left alone."""
    path = Path(path).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    try:
        if _POSIX:
            os.fchmod(fd, PRIVATE_FILE)  # os.open's mode passes through the umask
    finally:
        os.close(fd)
    return path


def owner_only(path: Path) -> Path:
    """Make a file this account has just written owner-only (0600)."""
    if _POSIX:
        os.chmod(path, PRIVATE_FILE)
    return Path(path)


def private_tree(root: Path) -> Path:
    """Make a folder this account has just written, and everything in it, owner-only (0700 / 0600)."""
    root = Path(root)
    if not _POSIX:
        return root
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, PRIVATE_DIR)
        for name in files:
            os.chmod(os.path.join(folder, name), PRIVATE_FILE)
    return root
