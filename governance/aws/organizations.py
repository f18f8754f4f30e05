"""Discovery of member accounts through AWS Organizations (from the management account)."""

from collections import Counter

from .errors import translate
from .session import ambient_session
from .snapshots import OrganizationAccount


def organization_accounts(calls: Counter | None = None) -> list[OrganizationAccount]:
    """Every account of the organization, as the ambient credentials' ListAccounts shows it."""
    session = ambient_session(calls=calls)
    try:
        paginator = session.client("organizations").get_paginator("list_accounts")
        return [
            OrganizationAccount(account_id=a["Id"], name=str(a.get("Name", ""))[:200],
                                email=str(a.get("Email", ""))[:254], status=a.get("Status", ""))
            for page in paginator.paginate()
            for a in page.get("Accounts", [])
        ]
    except Exception as exc:
        raise translate(exc, "organizations") from None
