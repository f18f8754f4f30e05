"""Writes to the account register, each audited in its own transaction."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from core.audit import audit

from ..aws.organizations import organization_accounts
from ..models import AwsAccount, SyncRun


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


def external_id_fingerprint(external_id: str) -> str:
    """What the audit log keeps of an external id: enough to tell a change, not the value.

    Keyledger never shows the external id; AWS does not count it as a secret, but whoever
    reads the audit log need not learn what an AssumeRole call must present.
    """
    if not external_id:
        return ""
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()[:12]


@transaction.atomic
def account_update(*, actor, account: AwsAccount, name: str | None = None,
                   role_arn: str | None = None, external_id: str | None = None,
                   enabled: bool | None = None) -> AwsAccount:
    """Change how an account is named and read (None: unchanged); ValidationError per field.

    Writes ``account.update`` with the changed fields before and after (the external id as
    a fingerprint), and ``account.enable`` / ``account.disable`` through
    ``account_set_enabled``; nothing when nothing changes.
    """
    stored = AwsAccount.objects.select_for_update().get(pk=account.pk)
    before = {"name": stored.name, "role_arn": stored.role_arn,
              "external_id": external_id_fingerprint(stored.external_id)}
    for field, value in (("name", name), ("role_arn", role_arn),
                         ("external_id", external_id)):
        if value is not None:
            setattr(stored, field, value.strip())
    stored.full_clean()
    after = {"name": stored.name, "role_arn": stored.role_arn,
             "external_id": external_id_fingerprint(stored.external_id)}
    changed = [field for field in after if after[field] != before[field]]
    if changed:
        stored.save(update_fields=changed)
        audit(actor=actor, action="account.update", obj=stored,
              summary=f"changed {', '.join(changed)} of AWS account {stored.account_id}",
              before={field: before[field] for field in changed},
              after={field: after[field] for field in changed})
    if enabled is not None:
        account_set_enabled(actor=actor, account=stored, enabled=enabled)
    account.refresh_from_db()
    return stored


@transaction.atomic
def account_sync_request(*, actor, account: AwsAccount) -> None:
    """Queue a sync of one account now (after this transaction commits), audited."""
    from ..tasks import sync_account_soon  # tasks import services: import it lazily

    audit(actor=actor, action="account.sync_requested", obj=account,
          summary=f"requested a sync of {account.account_id} now")
    transaction.on_commit(lambda: sync_account_soon(account.pk, SyncRun.Trigger.MANUAL))
