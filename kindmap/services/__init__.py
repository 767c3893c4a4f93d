"""Use cases: each package owns one, callable without HTTP (the API and the CLI are thin over them).

``catalogue`` (the published places: index, search, map views, activities, exports, freshness),
``imports`` (region files, CSV and ORUK places, activities, re-imports, the demo), ``gaps`` (council
gap analysis), ``recommend`` (suggestions for a household and its plan), ``households`` (private
households, links, audit, council link counts), ``community`` (public contributions and the review queue),
``standards`` (OGC API – Features, Open Referral UK), ``accounts`` (sign-in, tokens, rate limits);
``regions``, ``walking`` (networks per region) and ``backup`` stand alone.

May import: ``kindmap.config``, ``errors``, ``models``, ``db``, ``geo``, ``ingest``, ``hours``,
``schemas``, ``taxonomy``, ``maps``. Never ``kindmap.api`` or ``kindmap.cli``, never FastAPI.
"""
