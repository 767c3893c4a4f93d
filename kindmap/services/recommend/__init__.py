"""Recommendations for a household: places, activities and support within its comfortable walk,
open in its free windows, meeting its access needs, with a documented score and plain-words reasons.

``candidates`` → ``reach`` → ``words`` → ``not_for_us`` → ``recommendations`` → ``plan`` (the items a household's
carers chose, and the printable page). May import the core layers, ``services.walking``,
``services.catalogue`` and ``services.households``.
"""
