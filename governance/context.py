"""Template context every page needs: the navigation the signed-in person may use."""

from .models import ExceptionRequest


def navigation(request):
    person = getattr(request, "user", None)
    if not (person and person.is_authenticated):
        return {}
    return {
        "is_security": person.is_security,
        "is_manager": person.is_manager,
        "pending_decisions": ExceptionRequest.objects.awaiting_decision_by(person).count(),
    }
