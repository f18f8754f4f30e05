"""Signals other apps listen to, so people data never imports governance code."""

from django.dispatch import Signal

# Sent after people were created, updated, deactivated or re-linked in bulk.
people_changed = Signal()
