"""Template context every page needs: the navigation the signed-in person may use."""

from .access import is_security
from .selectors import decisions_awaiting_count


def navigation(request):
    person = getattr(request, "user", None)
    if not (person and person.is_authenticated):
        return {}
    return {
        "is_security": is_security(person),
        "is_manager": person.is_manager,
        "pending_decisions": decisions_awaiting_count(person),
    }
