"""Open Referral UK (HSDS 3.0 UK profile): ``documents`` (places as services) ← ``carried`` (places imported
from ORUK, exported as their source gave them) ← ``activities`` (opportunities and support) ← ``queries``
(the pages the API serves) and ``taxonomy``.
"""
