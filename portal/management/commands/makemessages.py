"""Django's makemessages, also extracting ``core.i18n.Message("...")`` msgids.

Messages recorded by a worker are stored untranslated and translated when read (see
core/i18n.py); their msgids must reach the catalogue like any ``_()`` string. Django
documents subclassing the command and extending ``xgettext_options`` for this.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=Message"]
