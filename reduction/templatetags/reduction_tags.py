"""Template filters of the way-out panel."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def sentence(text: str) -> SafeString:
    """An evidence sentence with its `backticked` commands and names set as code.

    Sentences carry AWS-supplied strings (permission set names, provider hosts, user
    agents): the whole text is escaped first, and only the ``<code>`` tags are added."""
    parts = escape(str(text)).split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: show them as they are
        return mark_safe("`".join(parts))  # noqa: S308 - escaped above
    return mark_safe("".join(  # noqa: S308 - every part escaped above
        f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts)))
