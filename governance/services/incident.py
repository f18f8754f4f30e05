"""Stopping a key in an incident: deactivate it in AWS now, record it, re-check on next sync."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit
from core.errors import GovernanceError, NotAllowed

from ..access import is_security
from ..aws.errors import CollectionError
from ..aws.responder import deactivate_access_key
from ..evaluation import evaluate_keys
from ..models import AccessKey, AccessKeyEvent


def responder_role_arn(account_id: str) -> str:
    """The responder role of an account, or '' when deactivation is not set up."""
    name = settings.KEYLEDGER_RESPONDER_ROLE_NAME
    return f"arn:aws:iam::{account_id}:role/{name}" if name else ""


def key_deactivate(*, actor, key: AccessKey, reason: str) -> AccessKey:
    """Deactivate ``key`` in AWS through the responder role; audited whether it works or not."""
    if not is_security(actor):
        raise NotAllowed("only the security team can deactivate keys")
    if not reason.strip():
        raise GovernanceError("a reason is required to deactivate a key")
    if not key.access_key_id:
        raise GovernanceError("a root access key has no id AWS APIs can act on: sign in as "
                              "root and delete it in the console")
    if key.status != AccessKey.Status.ACTIVE or key.removed_at:
        raise GovernanceError("this key is not active")
    role_arn = responder_role_arn(key.account.account_id)
    if not role_arn:
        raise GovernanceError("deactivation is not set up: set KEYLEDGER_RESPONDER_ROLE_NAME "
                              "and deploy the responder role (deploy/aws/)")
    try:
        deactivate_access_key(account_id=key.account.account_id, role_arn=role_arn,
                              external_id=key.account.external_id, user_name=key.user.name,
                              access_key_id=key.access_key_id)
    except CollectionError as exc:
        with transaction.atomic():
            audit(actor=actor, action="key.deactivate_failed", obj=key,
                  summary=f"could not deactivate {key}: {exc.message}"[:500],
                  after={"reason": reason.strip()[:500]})
        raise GovernanceError(f"AWS refused: {exc.message}") from None
    now = timezone.now()
    with transaction.atomic():
        AccessKey.objects.filter(pk=key.pk).update(status=AccessKey.Status.INACTIVE,
                                                   status_changed_at=now)
        AccessKeyEvent.objects.create(key=key, kind=AccessKeyEvent.Kind.DEACTIVATED, at=now)
        evaluate_keys(keys=AccessKey.objects.filter(user_id=key.user_id))
        audit(actor=actor, action="key.deactivate", obj=key,
              summary=f"deactivated {key} in AWS", before={"status": "Active"},
              after={"status": "Inactive", "reason": reason.strip()[:500]}, at=now)
    key.refresh_from_db()
    return key


@transaction.atomic
def key_evidence_export(*, actor, key: AccessKey) -> None:
    """Record that ``actor`` took the key's incident record (owner, findings, usage evidence)
    out of Keyledger: an export is a decision about the data, and the audit log keeps it."""
    if not is_security(actor):
        raise NotAllowed("only the security team exports a key's incident record")
    audit(actor=actor, action="key.export_evidence", obj=key,
          summary=f"exported the incident record of {key}")
