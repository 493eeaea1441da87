"""docs/operations.md's settings table lists every setting of drawdown.config.Settings, with
its real default, and nothing that is not a setting."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from drawdown.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROW = re.compile(r"^\| `(DRAWDOWN_[A-Z0-9_]+)` \| (.+?) \| (.+) \|$")


def _rendered(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, SecretStr):
        return "`***`"
    return f"`{value}`"


def test_settings_table_matches_the_settings_class() -> None:
    rows = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    expected = {
        f"DRAWDOWN_{name.upper()}": _rendered(field.default)
        for name, field in Settings.model_fields.items()
    }
    assert set(rows) == set(expected), "add or remove rows in docs/operations.md"
    for name, default in expected.items():
        assert rows[name][0] == default, f"{name}: the doc says {rows[name][0]}, the code {default}"
        assert len(rows[name][1]) > 10, f"{name}: say what it means"
