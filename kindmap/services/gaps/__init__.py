"""Council gap analysis: where welcoming free places are out of walking reach, for whom, and what
would change it (what-if, best new sites), written as files and a report.

``query`` (what is asked) → ``inputs`` (demand, supply) → ``times`` (walk times) → ``measure``
(coverage, E2SFCA) → ``analysis`` (ties them) → ``baseline`` (one query's analysis kept while its data is
unchanged) → ``scenarios``, ``partition`` (Dask tiles; ``tiles`` is what a worker does with one), ``report``.
May import the core layers, ``geo``, ``maps``, ``services.walking`` and ``services.catalogue.export``.
Never household locations: demand is postcode centroids.
"""
