"""``{% break_glass_uses %}``: the security team's panel of break-glass sign-ins."""

from django import template

from accounts.roles import is_security

from ..services import recent_break_glass_uses

register = template.Library()


@register.inclusion_tag("sso/_break_glass_panel.html", takes_context=True)
def break_glass_uses(context):
    """Shown only to the security team, and only when a break-glass account was used."""
    request = context.get("request")
    user = getattr(request, "user", None)
    uses = recent_break_glass_uses() if is_security(user) else []
    return {"uses": uses}
