"""What SCIM adds to people and groups: the provider's identifiers, and the tokens it uses.

A person's SCIM ``id`` is their Keyledger id and a group's is the Django group's id; these
rows hold what only the directory knows (``userName``, ``externalId``, name parts, e-mails
as sent) and when SCIM last changed the resource.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.functions import Lower

from accounts.models import HashedToken


class DirectoryPerson(models.Model):
    """A person as the directory provisions them. ``deleted_at``: the provider deleted the
    user (a leaver): the person stays, inactive, for the audit trail and their keys'
    history, and SCIM answers 404 for them until the provider creates them again."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  primary_key=True, related_name="directory")
    user_name = models.CharField(max_length=254)
    external_id = models.CharField(max_length=254, blank=True)
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    formatted_name = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    emails = models.JSONField(default=list, blank=True)
    # Whether the directory states ``active`` (providers do; a client that removed it sees
    # it gone, while the person stays active).
    sends_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("user_name"), name="directory_user_name_ci",
                                               condition=models.Q(deleted_at__isnull=True))]

    def __str__(self):
        return self.user_name


class DirectoryGroup(models.Model):
    """A Django group the directory provisions (its members may get a role through
    ``KEYLEDGER_OIDC_SECURITY_GROUPS`` / ``KEYLEDGER_OIDC_MANAGER_GROUPS``)."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, primary_key=True,
                                 related_name="directory")
    external_id = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"directory group {self.group_id}"


class ScimToken(HashedToken):
    """A bearer token for the provider's SCIM client: like a personal API token (hashed,
    expiring, shown once; ``accounts.tokens``) but it opens /scim/v2/ only, and belongs to no
    person."""

    class Meta(HashedToken.Meta):
        constraints = [models.CheckConstraint(
            condition=models.Q(expires_at__gt=models.F("created_at")),
            name="scim_token_expires_after_creation")]
