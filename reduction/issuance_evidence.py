"""What the stored evidence says is available instead of a new key, for one account and one
requester: the note on the issuance form and on the decider's page.

The same facts and judgement as a key's way out (``governance.way_out``: the requester's
Identity Center assignments on the account, the account's OIDC providers), read from the
rows the last sync stored; nothing is read from AWS here.
"""

from dataclasses import dataclass

from governance.models import AwsAccount
from governance.way_out import (
    Assignment,
    WayOutFacts,
    available_alternatives,
    permission_sets_on,
    recommend,
)

from .models import IdentityCenterPerson, OidcProviderListing


@dataclass(frozen=True)
class IssuanceEvidence:
    """``sentences``: what is known, one per source; ``contradicts``: the "why not" answers
    the evidence contradicts (field name -> why), as the registration form shows them."""

    sentences: tuple[str, ...]
    contradicts: dict[str, str]


def issuance_evidence(*, account: AwsAccount, email: str, category: str = "") -> IssuanceEvidence:
    """The evidence for a new key of ``email`` (the requester) on ``account``; two queries."""
    email = email.strip().lower()
    person = (IdentityCenterPerson.objects.filter(email=email)
              .prefetch_related("assignments").first())
    listing = OidcProviderListing.objects.filter(account=account).first()
    assignments = () if person is None else tuple(
        Assignment(a.account_id, a.permission_set_name) for a in person.assignments.all())
    sentences = []
    if person is None:
        sentences.append("Identity Center: not read for you (no reader configured, or no "
                         "sync since you were added).")
    elif not person.user_id:
        sentences.append(f"Identity Center: {email} has no user there.")
    else:
        sets = permission_sets_on(assignments, account.account_id)
        sentences.append(
            f"Identity Center: you hold {', '.join(sets)} on {account.account_id}: sign in "
            "with `aws sso login` instead of a key." if sets else
            f"Identity Center: you have a user but no assignment on {account.account_id}.")
    if listing is None:
        sentences.append("OIDC providers: not read yet for this account.")
    elif listing.issuers:
        sentences.append(f"OIDC providers: the account trusts {', '.join(listing.issuers)}: "
                         "a CI job there can assume a role without a key.")
    else:
        sentences.append("OIDC providers: the account trusts none.")
    facts = WayOutFacts(
        account_id=account.account_id, account_name=account.name, purpose_category=category,
        owner_email=email, identity_center_user=None if person is None else bool(person.user_id),
        assignments=assignments, oidc_issuers=None if listing is None else listing.issuers)
    return IssuanceEvidence(tuple(sentences), available_alternatives(recommend(facts)))
