"""Template helpers of the users pages."""

from django import template

register = template.Library()


@register.filter
def label_of(labels: dict, value):
    """The label of ``value`` in a {value: label} dict (the value itself if unknown)."""
    return labels.get(value, value)
