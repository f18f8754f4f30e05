"""One spelling of a person's e-mail for storing, signing in and sign-in throttling.

``Dana.Kowalski@Example.com``, `` dana.kowalski@example.com`` and the same in full-width
letters are one person. Every path that stores or looks up an e-mail, and django-axes when
it counts failed sign-ins, goes through ``normalise_email``: otherwise each spelling would
get its own five guesses (issue 12, item 1).
"""

import unicodedata


def normalise_email(value) -> str:
    """``value`` in NFKC, without surrounding white space, in lower case ('' for None)."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


def axes_username(request, credentials=None) -> str | None:
    """The identity django-axes counts failures against (``AXES_USERNAME_CALLABLE``).

    Axes passes the credentials given to ``authenticate`` (sign-in page, admin sign-in) or,
    for checks made before authentication, only the request; both name the e-mail
    ``username``. None when no e-mail was given, as axes expects.
    """
    if credentials:
        raw = credentials.get("username")
    else:
        raw = getattr(request, "data", None) or getattr(request, "POST", {})
        raw = raw.get("username") if hasattr(raw, "get") else None
    return normalise_email(raw) if raw is not None else None
