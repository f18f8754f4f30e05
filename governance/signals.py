"""What governance announces, so other apps can act on it without governance knowing them."""

from django.dispatch import Signal

# Sent once the transaction that opened them has committed, with ``account`` (the AwsAccount
# whose sync opened them) and ``codes`` (a frozenset of the finding codes newly opened).
findings_opened = Signal()
