"""Writes to the account register, each audited in its own transaction."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from ..audit import audit
from ..aws.organizations import organization_accounts
from ..models import AwsAccount


def reader_role_arn(account_id: str, role_name: str | None = None) -> str:
    return f"arn:aws:iam::{account_id}:role/{role_name or settings.KEYLEDGER_READER_ROLE_NAME}"


@transaction.atomic
def account_add(*, actor, account_id: str, name: str, role_arn: str = "",
                external_id: str = "", source: str = AwsAccount.Source.MANUAL) -> AwsAccount:
    """Register an account to sync; ValidationError names each bad field."""
    account = AwsAccount(account_id=account_id.strip(), name=name.strip(),
                         role_arn=role_arn.strip(), external_id=external_id.strip(),
                         source=source)
    account.full_clean()
    account.save()
    audit(actor=actor, action="account.add", obj=account,
          summary=f"added AWS account {account.account_id} ({account.name})",
          after={"account_id": account.account_id, "name": account.name,
                 "role_arn": account.role_arn, "source": account.source})
    return account


def accounts_discover(*, actor, role_name: str | None = None,
                      external_id: str = "") -> tuple[list[AwsAccount], list[AwsAccount]]:
    """Register every ACTIVE account of the organization not yet known; (added, known)."""
    known = {a.account_id: a for a in AwsAccount.objects.all()}
    added, existing = [], []
    for found in organization_accounts():
        if found.status and found.status != "ACTIVE":
            continue
        if found.account_id in known:
            existing.append(known[found.account_id])
            continue
        try:
            added.append(account_add(
                actor=actor, account_id=found.account_id, name=found.name or found.account_id,
                role_arn=reader_role_arn(found.account_id, role_name), external_id=external_id,
                source=AwsAccount.Source.ORGANIZATIONS,
            ))
        except ValidationError as exc:  # an answer we cannot store: skip it, say why
            raise ValidationError(f"account {found.account_id!r}: {exc}") from None
    return added, existing


@transaction.atomic
def account_set_enabled(*, actor, account: AwsAccount, enabled: bool) -> AwsAccount:
    """Include or exclude an account from scheduled syncs; its data stays."""
    if account.enabled == enabled:
        return account
    account.enabled = enabled
    account.save(update_fields=["enabled"])
    audit(actor=actor, action="account.enable" if enabled else "account.disable", obj=account,
          summary=f"{'enabled' if enabled else 'disabled'} syncing of {account.account_id}",
          before={"enabled": not enabled}, after={"enabled": enabled})
    return account


@transaction.atomic
def account_sync_request(*, actor, account: AwsAccount) -> None:
    """Queue a sync of one account now (after this transaction commits), audited."""
    from ..models import SyncRun
    from ..tasks import sync_account_task

    audit(actor=actor, action="account.sync_requested", obj=account,
          summary=f"requested a sync of {account.account_id} now")
    transaction.on_commit(
        lambda: sync_account_task.apply_async(args=[account.pk, SyncRun.Trigger.MANUAL]))
