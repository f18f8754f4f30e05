"""What governance announces, so other apps can act on it without governance knowing them."""

from django.dispatch import Signal

# Sent once the transaction that opened them has committed, with ``account`` (the AwsAccount
# whose sync opened them) and ``codes`` (a frozenset of the finding codes newly opened).
findings_opened = Signal()

# Sent once the transaction that made it has committed, with ``exception_id``: an exception
# request was made or decided, so whoever must act next (the decider, then the requester)
# can be told at once rather than by the next digest.
exception_changed = Signal()
