"""Accounts: users, schemes, passwords and sign-in tokens, and the in-memory rate limits and cost budgets.

May import the core layers (config, errors, models, db). Nothing else in ``services`` is needed here;
households and the API build on it.
"""
