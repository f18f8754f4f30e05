"""Moved to ``core.errors``; kept while three modules with others' unfinished edits
(accounts/views.py, governance/views/ownership.py, governance/api/base.py) still import it
from here in the last commit. Delete once they are committed."""

from core.errors import Conflict, GovernanceError, NotAllowed

__all__ = ["Conflict", "GovernanceError", "NotAllowed"]
