"""The person's own pages: personal API tokens (create, list, revoke)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.errors import GovernanceError

from .forms import ApiTokenForm
from .models import ApiToken
from .tokens import api_token_create, api_token_revoke, max_days


@never_cache
@login_required
def api_tokens(request):
    """The person's tokens; on a valid POST, a new token whose secret is shown this once."""
    form = ApiTokenForm(request.POST or None)
    secret, created = "", None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = api_token_create(actor=request.user, **form.cleaned_data)
        except GovernanceError as exc:
            form.add_error(None, str(exc))
        else:
            form = ApiTokenForm()
    now = timezone.now()
    tokens = [(token, token.state(now)) for token in ApiToken.objects.filter(person=request.user)]
    return render(request, "accounts/api_tokens.html", {
        "form": form, "tokens": tokens, "secret": secret, "created": created,
        "max_days": max_days(),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def api_token_revoke_view(request, pk: int):
    """Revoke one of the person's own tokens (another person's is 404)."""
    token = get_object_or_404(ApiToken, pk=pk, person=request.user)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token {token.name} ({token.prefix}…) is revoked.")
    return redirect("api-tokens")
