"""Getting data in: the import run (report, dry run, one transaction), region files (areas,
postcodes, OSM), CSV and ORUK places with duplicate matching, activities from CSV, safe re-imports,
whole regions and the demo.

``runs`` is the base every importer builds on; ``files``, ``places``, ``activities``, ``reimport``
and ``demo`` sit on it. May import the core layers, ``ingest`` (file readers and their limits),
``services.regions``, ``services.walking``, ``services.catalogue`` (postcode look-up, activities)
and ``services.community`` (review items for possibly-closed places).
"""
