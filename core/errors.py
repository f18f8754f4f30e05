"""The error a governance rule raises when it refuses an action, worded for the person."""

from django.core.exceptions import PermissionDenied


class GovernanceError(ValueError):
    """The action breaks a governance rule (bad expiry, wrong state, duplicate request)."""


class Conflict(GovernanceError):
    """Someone else changed the object at the same moment; nothing was written. The person
    may look again and retry (the API answers 409)."""


class NotAllowed(PermissionDenied):
    """The actor may not do this to this object (role or relationship missing)."""
