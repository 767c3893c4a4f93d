"""Private Shared Lives households: who may see them (``records``), their audit trail, links chart,
and the council's disclosure-controlled counts of places where links grow (``link_counts``).

Household locations are read here and in ``services.recommend`` (walks from home), nowhere else.
May import the core layers, ``services.accounts`` and ``services.catalogue``.
"""
