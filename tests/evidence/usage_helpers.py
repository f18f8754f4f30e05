"""Usage evidence rows as the trail reading stores them, and declared sources, for the tests
of the usage summary, the key page's panel, the inventory's filters and the API."""

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from evidence.models import KeyUsageAddress, KeyUsageDay, TrailObject
from governance.models import Registration

TODAY = timezone.now().date()


def day_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def used(key, day: date, *, events: int = 1, errors: int = 0, agents=None, sources=None,
         actions=None, regions=None) -> KeyUsageDay:
    """One day's counts for ``key`` (a key or an access key id)."""
    key_id = getattr(key, "access_key_id", key)
    return KeyUsageDay.objects.create(
        access_key_id=key_id, day=day, events=events, errors=errors,
        user_agents=agents if agents is not None else {"aws-cli/2.15": events},
        event_sources=sources if sources is not None else {"s3.amazonaws.com": events},
        actions=actions if actions is not None else {"s3:GetObject": events},
        regions=regions if regions is not None else {"eu-west-1": events})


def seen_from(key, day: date, address: str, *, events: int = 1, first_hour: int = 9,
              last_hour: int = 17, via_aws_service: bool = False,
              vpc_endpoint_id: str = "") -> KeyUsageAddress:
    """One address of ``key`` on ``day`` (through ``vpc_endpoint_id`` when given)."""
    key_id = getattr(key, "access_key_id", key)
    return KeyUsageAddress.objects.create(
        access_key_id=key_id, day=day, address=address, events=events,
        first_seen=moment(day, first_hour), last_seen=moment(day, last_hour),
        via_aws_service=via_aws_service, vpc_endpoint_id=vpc_endpoint_id)


def declare(key, *sources: str) -> Registration:
    """A current registration of ``key`` declaring ``sources`` (canonical strings)."""
    owner = key.owner
    if owner is None:
        from tests.factories import PersonFactory

        owner = PersonFactory()
    return Registration.objects.create(
        key=key, owner=owner, category="ci_cd", runs_where="CI", justification="j",
        why_not_iam_role="r", why_not_identity_center="i", why_not_sts="s",
        source_restriction=", ".join(sources), declared_sources=list(sources),
        rotation_procedure="p", deactivation_contact="c", registered_at=timezone.now(),
        review_due_on=TODAY + timedelta(days=180))


def trail_read_for(account_id: str) -> TrailObject:
    """A log file of ``account_id`` recorded as read."""
    return TrailObject.objects.create(
        key=f"AWSLogs/{account_id}/CloudTrail/us-east-1/{TODAY:%Y/%m/%d}/x.json.gz",
        account_id=account_id, region="us-east-1", day=TODAY, status=TrailObject.Status.READ)
