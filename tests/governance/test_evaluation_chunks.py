"""``evaluate_keys`` in chunks: every key judged once, only the keys asked for, owners once."""

import pytest

from governance import evaluation
from governance.models import AccessKey, Finding
from tests.factories import AccessKeyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(monkeypatch):
    """Seven keys, two of them overdue and owned; chunks of two keys."""
    monkeypatch.setattr(evaluation, "CHUNK", 2)
    PersonFactory(email="owner@example.com")
    return [AccessKeyFactory(owner="owner@example.com" if n % 3 == 0 else None,
                             days_old=200 if n in (1, 4) else 10) for n in range(7)]


def open_codes() -> dict[int, set[str]]:
    codes: dict[int, set[str]] = {}
    for key_id, code in Finding.objects.filter(resolved_at__isnull=True).values_list(
            "key_id", "code"):
        codes.setdefault(key_id, set()).add(code)
    return codes


def test_every_key_is_judged_across_chunks(keys):
    result = evaluation.evaluate_keys()

    assert result.keys == 7
    codes = open_codes()
    assert set(codes) == {k.pk for k in keys}
    assert {k.pk for k in keys if "ROTATION_OVERDUE" in codes[k.pk]} == {keys[1].pk, keys[4].pk}
    assert {k.pk for k in keys if "NO_OWNER" in codes[k.pk]} == {
        k.pk for n, k in enumerate(keys) if n % 3}
    assert AccessKey.objects.filter(evaluated_at__isnull=True).count() == 0


def test_only_the_keys_asked_for_are_judged_even_with_gaps_between_them(keys):
    asked = [keys[0], keys[2], keys[4], keys[6]]  # no pk range covers them and nothing else

    result = evaluation.evaluate_keys(keys=AccessKey.objects.filter(
        pk__in=[k.pk for k in asked]))

    assert result.keys == 4
    assert set(open_codes()) == {k.pk for k in asked}
    assert set(AccessKey.objects.filter(evaluated_at__isnull=False)
               .values_list("pk", flat=True)) == {k.pk for k in asked}


def test_a_keys_owner_is_resolved_once(keys, monkeypatch):
    calls = []
    real = evaluation.resolve_owner

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(evaluation, "resolve_owner", counting)
    evaluation.evaluate_keys()

    assert len(calls) == 7
