"""Machine description printed at the top of every benchmark."""

from __future__ import annotations

import os
import platform
import sys


def machine_info() -> str:
    """Platform, CPU model (from /proc/cpuinfo), cores, Python, and the command line."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"platform: {platform.platform()}\n"
        f"cpu: {model}; cores: {os.cpu_count()}\n"
        f"python: {sys.version.split()[0]}; load average at start: {_load()}\n"
        f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}"
    )


def _load() -> str:
    """1-minute load average: other work on the machine slows every timing."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"
