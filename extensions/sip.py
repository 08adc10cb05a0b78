"""Pure rendering of SIP options from a template (no database, no network)."""

SIP_EXTEN = "${SIP.EXTEN}"


def render_sip_options(template_value: str, number: str) -> str:
    """Expand the template's variables for one extension (manual §7.2)."""
    return template_value.replace(SIP_EXTEN, number)
