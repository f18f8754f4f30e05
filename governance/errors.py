"""The error a governance rule raises when it refuses an action, worded for the person."""

from django.core.exceptions import PermissionDenied


class GovernanceError(ValueError):
    """The action breaks a governance rule (bad expiry, wrong state, duplicate request)."""


class NotAllowed(PermissionDenied):
    """The actor may not do this to this object (role or relationship missing)."""
