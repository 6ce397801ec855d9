#!/usr/bin/env bash
# Re-extract the translatable strings and merge them into the zh_CN and en catalogs.
#
# Run from anywhere; works on the repository root. New entries come out with an empty msgstr:
# translate them (zh_CN: Chinese; en: msgstr identical to msgid) and run tests/unit/test_i18n.py.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ -x .venv/bin/pybabel ]]; then
    pybabel=.venv/bin/pybabel
elif command -v pybabel >/dev/null 2>&1; then
    pybabel=pybabel
else
    echo "i18n.sh: pybabel not found (install babel, or create .venv)" >&2
    exit 1
fi
if [[ -x .venv/bin/python ]]; then
    python=.venv/bin/python
else
    python=python3
fi

sources=()
for dir in bot models handlers jobs locales; do
    if [[ -d "$dir" ]]; then
        sources+=("$dir")
    fi
done

# The template as it was: if only its creation date changes below, it is put back (no noise).
previous="$(mktemp)"
trap 'rm -f "$previous"' EXIT
cp locales/messages.pot "$previous" 2>/dev/null || true

# click's own texts ("Usage:", "Error: …") too: bot/cli/clicktext.py serves them from our catalogs.
sources+=("$("$python" -c 'import click, os; print(os.path.dirname(click.__file__))')")

"$pybabel" --quiet extract -F babel.cfg -k N_ -k _ --no-location --sort-output --project ztc \
    -o locales/messages.pot "${sources[@]}"
# pybabel's extractor only sees keyword calls such as `_("...")` and `env._("...")`; add the
# literals translated in place through `gettext_for(locale)("...")` / `ngettext_for(locale)(...)`.
"$python" - locales/messages.pot "${sources[@]}" <<'PY'
import ast
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

FACTORIES = {"gettext_for": 1, "ngettext_for": 2}  # how many leading arguments are messages
pot_path, *roots = sys.argv[1:]
with open(pot_path, "rb") as file:
    template = read_po(file)
added = 0
for root in roots:
    for path in sorted(Path(root).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Call)):
                continue
            factory = node.func.func
            name = getattr(factory, "id", None) or getattr(factory, "attr", None)
            count = FACTORIES.get(name or "")
            args = node.args[:count] if count else []
            if not args or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
            ):
                continue
            msgid = args[0].value if count == 1 else tuple(a.value for a in args)
            key = msgid if isinstance(msgid, str) else msgid[0]
            if key not in template:
                added += 1
            template.add(msgid, locations=[(path.as_posix(), node.lineno)])
with open(pot_path, "wb") as file:
    write_po(file, template, width=76, no_location=True, sort_output=True)
print(f"{pot_path}: {len(template)} messages ({added} from gettext_for(...)(...) calls)")
PY
if [[ -s "$previous" ]] && diff -q \
    <(grep -v '^"POT-Creation-Date:' "$previous") \
    <(grep -v '^"POT-Creation-Date:' locales/messages.pot) >/dev/null; then
    cp "$previous" locales/messages.pot
fi
"$pybabel" update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete \
    --ignore-pot-creation-date

untranslated=0
for po in locales/*/LC_MESSAGES/messages.po; do
    # Count entries with an empty msgstr (the header excepted) or marked fuzzy.
    count="$("$python" - "$po" 2>/dev/null <<'PY' || echo "?"
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as file:
    catalog = read_po(file)
def untranslated(message):
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return message.fuzzy or not all(strings)
print(sum(1 for message in catalog if message.id and untranslated(message)))
PY
)"
    echo "$po: $count entries to translate"
    if [[ "$count" != "0" ]]; then
        untranslated=1
    fi
done

if [[ $untranslated -ne 0 ]]; then
    echo "Reminder: translate the new entries (zh_CN in Chinese, en msgstr = msgid), then run" \
         ".venv/bin/pytest tests/unit/test_i18n.py." >&2
else
    echo "All entries translated. Reminder: translate any new entries you add before committing."
fi
