"""A plan page as PDF (WeasyPrint, A4), with nothing fetched from outside the page.

The page's stylesheets and symbols are handed in as text and data: URIs, so a PDF never reaches
a file, the network or the server it came from.
"""

from __future__ import annotations

import base64
from pathlib import Path

from kindmap.errors import DataError


def data_uri(path: Path) -> str:
    """An SVG file as a data: URI (for symbols inside a PDF)."""
    return "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def to_pdf(html_text: str, *, css: str) -> bytes:
    """``html_text`` styled by ``css`` as PDF bytes; DataError saying what to install when Pango is missing."""
    try:
        import weasyprint
    except OSError as exc:  # WeasyPrint needs the Pango library from the system
        raise DataError(f"the PDF plan needs the Pango library (Debian/Ubuntu: apt install libpango-1.0-0): {exc}") from exc
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return weasyprint.HTML(string=html_text, url_fetcher=fetcher).write_pdf(
        stylesheets=[weasyprint.CSS(string=css, url_fetcher=fetcher)])
