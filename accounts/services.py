"""Every change to a person, each audited in the transaction that makes it.

The callers are ``import_people`` and the Django admin;
none writes a person's name, e-mail, manager, groups, flags or active state by itself. Each
service takes the acting person (``actor``; None for the system, such as a command run from
a shell) and ``via``, the path the change came through, which the audit summary names.

Audit actions: ``person.create``; ``person.update`` (e-mail, name, manager, groups, staff and
superuser flags, with the changed fields before and after); ``person.deactivate`` and
``person.reactivate``; ``person.set_password`` (that it changed, never the password).

Deactivating revokes rather than suspends: the person's sessions are deleted and their API
tokens revoked in the same transaction, so reactivating them later revives neither.
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from core.audit import audit

from .identity import normalise_email
from .models import ApiToken, Person
from .signals import people_changed

UNSET = object()
# Fields whose change alters who owns which key (tags name e-mails; inactive people own
# nothing), so every key is re-evaluated after them.
OWNERSHIP_FIELDS = ("email", "is_active")


def person_state(person: Person) -> dict:
    """What the audit log records of a person: never the password."""
    return {
        "email": person.email,
        "name": person.name,
        "manager": person.manager.email if person.manager is not None else None,
        "groups": sorted(group.name for group in person.groups.all()),
        "is_active": person.is_active,
        "is_staff": person.is_staff,
        "is_superuser": person.is_superuser,
    }


def _via(via: str) -> str:
    return f" (via {via})" if via else ""


def _announce(emails, reevaluate: bool) -> None:
    if reevaluate:
        people_changed.send(sender=Person, emails=sorted(set(emails)))


@transaction.atomic
def person_create(*, actor, email: str, name: str = "", manager: Person | None = None,
                  is_active: bool = True, is_staff: bool = False, is_superuser: bool = False,
                  groups=(), password: str | None = None, via: str = "",
                  reevaluate: bool = True) -> Person:
    """A new person (``password`` None: none usable, as for people who sign in via SSO)."""
    person = Person(email=normalise_email(email), name=name, manager=manager,
                    is_active=is_active, is_staff=is_staff, is_superuser=is_superuser)
    if password is None:
        person.set_unusable_password()
    else:
        person.set_password(password)
    person.full_clean()
    person.save()
    if groups:
        person.groups.set(groups)
    state = person_state(person)
    audit(actor=actor, action="person.create", obj=person,
          summary=f"created {person.email}{_via(via)}", after=state)
    _announce([person.email], reevaluate)
    return person


@transaction.atomic
def person_update(*, actor, person: Person, email=UNSET, name=UNSET, manager=UNSET,
                  groups=UNSET, is_active=UNSET, is_staff=UNSET, is_superuser=UNSET,
                  via: str = "", reevaluate: bool = True) -> Person:
    """Change what is given of a person; what is not given stays. Returns the stored person.

    Writes ``person.update`` for the changed fields other than ``is_active`` and
    ``person.deactivate`` / ``person.reactivate`` for that one; nothing when nothing
    changes. ValidationError (``Person.clean``) when the e-mail is taken or the manager
    would close a loop.
    ``reevaluate=False`` is for a caller that announces a whole batch once (the import).
    """
    stored = (Person.objects.select_for_update(of=("self",)).select_related("manager")
              .prefetch_related("groups").get(pk=person.pk))
    before = person_state(stored)
    if email is not UNSET:
        stored.email = normalise_email(email)
    if name is not UNSET:
        stored.name = name
    if manager is not UNSET:
        stored.manager = manager
    for field, value in (("is_active", is_active), ("is_staff", is_staff),
                         ("is_superuser", is_superuser)):
        if value is not UNSET:
            setattr(stored, field, bool(value))
    stored.full_clean(exclude=["password"])
    stored.save()
    if groups is not UNSET:
        names = {group.name for group in groups}
        if names != set(before["groups"]):
            stored.groups.set(list(groups))
    stored = (Person.objects.select_related("manager").prefetch_related("groups")
              .get(pk=stored.pk))
    after = person_state(stored)
    changed = [field for field in after if after[field] != before[field]]
    details = [field for field in changed if field != "is_active"]
    if details:
        audit(actor=actor, action="person.update", obj=stored,
              summary=f"changed {', '.join(details)} of {stored.email}{_via(via)}",
              before={field: before[field] for field in details},
              after={field: after[field] for field in details})
    if "is_active" in changed:
        if stored.is_active:
            audit(actor=actor, action="person.reactivate", obj=stored,
                  summary=f"reactivated {stored.email}{_via(via)}",
                  before={"is_active": False}, after={"is_active": True})
        else:
            _person_deactivated(actor=actor, person=stored, via=via)
    if any(field in changed for field in OWNERSHIP_FIELDS):
        _announce([before["email"], after["email"]], reevaluate)
    person.refresh_from_db()
    person.__dict__.pop("_role_names", None)
    return stored


def _person_deactivated(*, actor, person: Person, via: str) -> None:
    """End every way the person was signed in, and record it with the deactivation."""
    now = timezone.now()
    tokens = list(ApiToken.objects.select_for_update()
                  .filter(person=person, revoked_at__isnull=True).order_by("pk"))
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now)
    sessions = _end_sessions(person, now)
    audit(actor=actor, action="person.deactivate", obj=person,
          summary=f"deactivated {person.email}{_via(via)}: {sessions} session(s) ended, "
                  f"{len(tokens)} API token(s) revoked",
          before={"is_active": True},
          after={"is_active": False, "sessions_ended": sessions,
                 "api_tokens_revoked": [f"{token.prefix}…" for token in tokens]})


def _end_sessions(person: Person, now) -> int:
    """Delete the person's unexpired sessions (database sessions: the configured engine).

    Sessions are not indexed by person, so each live one is decoded; Keyledger has one
    session per signed-in person, a few hundred at most.
    """
    ended = []
    for session in Session.objects.filter(expire_date__gt=now).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(person.pk):
            ended.append(session.pk)
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def person_password_changed(*, actor, person: Person, had_password: bool,
                            via: str = "") -> None:
    """Record that ``person``'s password was set or removed (never the password or hash).

    For a caller that changes the password with Django's own form (the admin's password
    page), inside the same transaction.
    """
    usable = person.has_usable_password()
    audit(actor=actor, action="person.set_password", obj=person,
          summary=f"{'set' if usable else 'removed'} the password of {person.email}{_via(via)}",
          before={"usable_password": had_password}, after={"usable_password": usable})


def person_provision(*, actor, person: Person | None, email: str, name: str,
                     manager: Person | None, is_active: bool, groups=UNSET, via: str,
                     reevaluate: bool = True) -> Person:
    """Create ``person`` (None) or bring them to what a directory says: the one write both
    directories use, ``import_people`` (a CSV row) and SCIM (a User), so a hire, a move and
    a leaver are audited alike whichever way they came."""
    if person is None:
        return person_create(actor=actor, email=email, name=name, manager=manager,
                             is_active=is_active, groups=() if groups is UNSET else groups,
                             via=via, reevaluate=reevaluate)
    return person_update(actor=actor, person=person, email=email, name=name, manager=manager,
                         is_active=is_active, groups=groups, via=via, reevaluate=reevaluate)


def person_set_roles(*, actor, person: Person, roles, via: str = "") -> Person:
    """Give ``person`` exactly the role groups named in ``roles`` (``security``,
    ``manager``), keeping their other groups; audited as a ``person.update`` of ``groups``
    when it changes anything (the directory re-reads roles at each sign-in and push)."""
    from django.contrib.auth.models import Group

    from .roles import Role

    role_names = {role.value for role in Role}
    wanted = {Group.objects.get_or_create(name=name)[0] for name in roles if name in role_names}
    kept = {group for group in person.groups.all() if group.name not in role_names}
    if {group.name for group in person.groups.all()} == {group.name for group in kept | wanted}:
        return person
    return person_update(actor=actor, person=person, groups=list(kept | wanted), via=via)
