"""``python -m mediation.notify.table > docs/notifications.md``: the table as the project's
documentation (tests/notify/table/test_whole_table.py checks they agree)."""

from . import as_markdown

print(as_markdown(), end="")
