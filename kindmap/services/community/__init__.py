"""What residents give back: suggestions, problem reports, kindness notes (``contributions``), and
the one review queue moderators work, with local facts (``review``).

May import the core layers and ``services.catalogue`` (postcode look-up for suggestions).
"""
