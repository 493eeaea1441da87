"""The printed result: one aligned table per section, and notes (what was skipped, why)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

__all__ = ["Report", "Section", "progress"]


def progress(message: str) -> None:
    """A progress line on stderr, so stdout keeps only the tables."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(cell) for cell in cells])

    def render(self) -> str:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
        lines = [f"## {self.title}", ""]
        lines.append(_line(self.columns, widths))
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines.extend(_line(row, widths) for row in self.rows)
        lines.extend(f"\n{note}" if i == 0 else note for i, note in enumerate(self.notes))
        return "\n".join(lines)


def _line(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# The figures of the performance issue's target table, in its order: (name, target).
TARGETS = (
    ("ingest b1000 / events-only floor (x1, x4)", ">= 30% PG, >= 25% SQLite"),
    ("ingest b1000 / floor of the rows the design writes (x1, x4)", ">= 70%"),
    ("server CPU per event, b1000 x4", "<= 40 us (PG)"),
    ("access vs /healthz (x1, x4)", ">= 70%"),
    ("access p99 x4, idle / during ingest", "< 5 / < 10 ms"),
    ("access with 3 active holds vs /healthz (x1, x4)", ">= 70%"),
    ("access with 3 active holds p99 x4", "< 5 ms"),
    ("Polar customer meters x4 vs /healthz, at 10 / at many events per customer", ">= 70%, same"),
    ("usage 30 days all customers (by day, by hour) / one customer", "< 100 / < 20 ms"),
    ("worker RSS after load", "< 150 MiB"),
)


@dataclass
class Report:
    header: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)

    def targets(self) -> None:
        """The target table, from the figures the sections measured in this run."""
        section = self.section("Targets (ratios from this run)", "figure", "target", "measured")
        for name, target in TARGETS:
            section.add(name, target, self.figures.get(name, "not measured"))

    def section(self, title: str, *columns: str) -> Section:
        section = Section(title, list(columns))
        self.sections.append(section)
        return section

    def render(self) -> str:
        parts = ["\n".join(self.header)] + [s.render() for s in self.sections if s.rows or s.notes]
        return "\n\n".join(parts) + "\n"
