"""Template helpers of the portal's tables and forms."""

from django import template
from django.db import models
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def cell(obj, name: str) -> str:
    """The display value of ``obj.<name>``: choices by label, booleans as Sí/No, None as ''."""
    display = getattr(obj, f"get_{name}_display", None)
    if callable(display):
        return display()
    value = getattr(obj, name, "")
    if isinstance(value, models.Manager):
        return ", ".join(str(v) for v in value.all())
    if isinstance(value, bool):
        return _("Sí") if value else _("No")
    return "" if value is None else value


@register.simple_tag
def sort_param(field: str, current: str) -> str:
    """The ``ordering`` value a column header links to: ascending, or descending if already so."""
    return f"-{field}" if current == field else field


@register.filter
def pct_class(value) -> str:
    """The CSS class of a bar ``value`` per cent wide (0..100; more fills the bar)."""
    try:
        number = round(float(value))
    except (TypeError, ValueError):
        number = 0
    return f"pct-{min(100, max(0, number))}"
