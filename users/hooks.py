"""What the users app needs from the apps above it (core.registry; registered in their
AppConfig.ready()). The webfon login (webfon/) sits above users: it reads users, and a user
edit reaches its sessions only through these."""

from core.registry import Hook, Provider

# A user was disabled or its fixed extension/pool changed (reason "disabled"/"reassigned"):
# called with actor=, user=, reason= inside the service transaction that changed the user.
user_access_changed = Hook("users.user_access_changed")

# The password rules a webfon user's password must follow: an object with password_min_length,
# password_require_digits, password_require_upper, password_require_lower,
# password_require_special (the webfon access policy).
password_rules = Provider("users.password_rules")

# The webfon sessions in force, as a queryset of rows with user_id, extension_number and
# started_at (the "conectado" filter and the mobility extension of the user lists).
live_sessions = Provider("users.live_sessions")
