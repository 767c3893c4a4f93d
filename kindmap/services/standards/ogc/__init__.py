"""OGC API – Features Part 1 over public data: ``registry`` (collections, shared vocabulary) →
``params`` → ``items``; one module per collection (``places``, ``areas``, ``opportunities``),
registered on import by ``core`` (landing page, conformance, collections, queryables, schemas).
"""
