"""Every governance write: each validates, changes, re-evaluates and audits in one transaction.

Services take keyword-only arguments and the acting person (``actor``; None for the system),
and raise ``GovernanceError`` with a message fit to show the person when a rule says no.
"""
