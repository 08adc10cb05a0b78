"""Template helpers of the portal's tables and forms."""

from django import template
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
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


# --- the audit trail, in the interface's words ----------------------------------------------
AUDIT_ROWS_SHOWN = 4


def _audit_model(object_type: str):
    try:
        return apps.get_model(object_type) if "." in object_type else None
    except (LookupError, ValueError):
        return None


@register.filter
def audit_object_type(object_type: str) -> str:
    """``users.portaluser`` → *Usuario*: the model's name in the interface's language."""
    model = _audit_model(object_type)
    return capfirst(model._meta.verbose_name) if model is not None else object_type


def _field(model, name: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _value_label(field, value):
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Sí") if value else _("No")
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    if value in choices:
        return choices[value]
    if isinstance(value, list):
        return ", ".join(str(_value_label(field, item)) for item in value) or "—"
    return value


@register.simple_tag
def audit_rows(entry) -> dict:
    """The entry's changes as (label, before, after) rows: field and choice labels, not the
    column names and stored codes; ``shown`` the first rows, ``more`` the rest (collapsed)."""
    model = _audit_model(entry.object_type)
    rows = []
    for name, change in (entry.changes or {}).items():
        field = _field(model, name)
        label = capfirst(field.verbose_name) if field is not None else name.replace("_", " ")
        if isinstance(change, dict) and ("before" in change or "after" in change):
            rows.append(
                (
                    label,
                    _value_label(field, change.get("before")),
                    _value_label(field, change.get("after")),
                    True,
                )
            )
        else:
            rows.append((label, _value_label(field, change), None, False))
    return {"shown": rows[:AUDIT_ROWS_SHOWN], "more": rows[AUDIT_ROWS_SHOWN:]}
