"""The published catalogue: the in-memory index, near-me and name search, map views, activities and
support, exports, and how fresh each fact is.

May import the core layers, ``services.regions`` and ``services.walking``. Never households or
accounts: nothing private lives here (a contract in ``.importlinter`` holds it).
"""
