"""Open standards over public data only: OGC API – Features (``ogc``) and Open Referral UK (``oruk``).

May import the core layers, ``geo`` and ``services.catalogue``. Never households or accounts.
"""
