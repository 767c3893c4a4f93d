"""Open Referral UK (HSDS 3.0 UK profile): ``documents`` (places as services) ← ``activities``
(opportunities and support) ← ``queries`` (the pages the API serves) and ``taxonomy``.
"""
