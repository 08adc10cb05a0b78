#!/usr/bin/env bash
# Regenerate the message catalogues (locale/<lang>/LC_MESSAGES/django.po) from the Spanish
# msgids in the apps' Python files and the templates, then compile them to .mo files.
# Translate any new or "#, fuzzy" entries in the .po files between the two steps, and rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-1}"
PYTHON="${PYTHON:-.venv/bin/python}"
command -v msgfmt >/dev/null || { echo "GNU gettext is needed: apt-get install gettext" >&2; exit 1; }
languages=("${@:-en}")
args=()
for language in "${languages[@]}"; do args+=(-l "$language"); done
mkdir -p locale
"$PYTHON" manage.py makemessages "${args[@]}" --no-obsolete \
  --ignore=.venv --ignore=var --ignore=static --ignore=tests --ignore=bench
"$PYTHON" manage.py compilemessages "${args[@]}" --ignore=.venv
for language in "${languages[@]}"; do
  po="locale/$language/LC_MESSAGES/django.po"
  untranslated="$(msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid ' || true)"
  fuzzy="$(msgattrib --only-fuzzy --no-obsolete "$po" | grep -c '^msgid ' || true)"
  # msgattrib prints the header entry too when it prints anything.
  [ "$untranslated" -gt 0 ] && untranslated=$((untranslated - 1))
  [ "$fuzzy" -gt 0 ] && fuzzy=$((fuzzy - 1))
  echo "$po: $untranslated untranslated, $fuzzy fuzzy"
done
