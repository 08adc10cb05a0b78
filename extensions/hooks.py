"""What the extensions app needs from the apps above it (core.registry; registered in their
AppConfig.ready()). users sits above extensions: the rule "a webfon number is never a login
number" needs users' login numbers, and reaches them through this provider."""

from core.registry import Provider

# Which of the given numbers are login numbers of users: called with numbers=, answers a
# list of (number, account) pairs in number order (users.rules.login_numbers_taken).
login_numbers_taken = Provider("extensions.login_numbers_taken")
