"""What core announces, so apps can act on it without core importing them."""

from django.dispatch import Signal

# Sent once the transaction that wrote it has committed, with ``event`` (the AuditEvent),
# when a write-once audit sink is configured (``KEYLEDGER_AUDIT_SINK``).
audit_committed = Signal()
