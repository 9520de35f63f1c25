"""The error budget (``--max-rejects``): a broken export is stopped before it reaches the platform.

A wrong delimiter, a truncated file or a changed column layout makes most rows fail validation. Sending
the few rows that happen to pass would write garbage into the platform, so when validation rejects more
rows than the budget allows, nothing is sent: the valid rows are reported as held back (``held.csv``,
``rows_held``: never attempted, so not failed), the rejected ones as usual (``rejected.csv``), the summary
says why, and the run exits 2.

The budget is a count (``--max-rejects 50``: at most 50 rejected rows) or a share of the rows read
(``--max-rejects 10%``, the default). ``100%`` disables the check; ``0`` stops a run on any rejected row.
Only rows rejected *before sending* count (validation, unreadable lines, duplicates): what the API
rejects is known only after sending. A dry run applies the same check and says that a real run would be
stopped, with the same exit code, so ``--dry-run`` answers "would tonight's run go through?".

This module decides; it neither reads nor sends. It does not import the settings (they import it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from importer.errors import EXIT_USAGE

EXIT_STOPPED = EXIT_USAGE  # nothing was sent: the same code as any other problem found before sending
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Budget:
    """How many rows validation may reject before a run is stopped: ``limit`` rows, or percent of rows."""

    limit: float
    percent: bool = True

    @classmethod
    def parse(cls, text: str | int) -> Budget:
        """``"10%"``, ``"2.5%"``, ``"50"`` or ``50``; raises ValueError with a sentence for anything else."""
        if isinstance(text, bool):
            raise ValueError("give a number of rows (e.g. 50) or a share of the rows read (e.g. 10%)")
        if isinstance(text, int):
            text = str(text)
        found = _BUDGET.match(str(text))
        if found is None:
            raise ValueError(
                f"{str(text)[:40]!r} is not a number of rows (e.g. 50) or a share of the rows read (e.g. 10%)"
            )
        number, percent = float(found.group(1)), bool(found.group(2))
        if percent and number > 100:
            raise ValueError(f"{number:g}% is more than 100% (100% already turns the check off)")
        if not percent and number != int(number):
            raise ValueError(f"{number:g} is not a whole number of rows")
        return cls(number, percent)

    def __str__(self) -> str:
        return f"{self.limit:g}%" if self.percent else f"{int(self.limit)}"

    @property
    def disabled(self) -> bool:
        return self.percent and self.limit >= 100

    def exceeded_by(self, rejected: int, read: int) -> bool:
        if self.disabled or read == 0:
            return False
        if self.percent:
            return rejected * 100 > self.limit * read
        return rejected > self.limit


DEFAULT_BUDGET = Budget(10.0, percent=True)


@dataclass(frozen=True)
class Verdict:
    """The budget applied to one run: the counts it was judged on, and why it stops (None: it goes on)."""

    budget: Budget
    rows_read: int
    rows_invalid: int  # distinct rows rejected before sending
    dry_run: bool = False

    @property
    def stopped(self) -> str | None:
        """The sentence for the summary and the report, or None when the run is within its budget."""
        if not self.budget.exceeded_by(self.rows_invalid, self.rows_read):
            return None
        share = _share(self.rows_invalid, self.rows_read, self.budget)
        limit = f"{self.budget}" if self.budget.percent else f"{self.budget} rows"
        sentence = (
            f"error budget: {self.rows_invalid} of {self.rows_read} rows rejected ({share}) > {limit} "
            f"(--max-rejects); nothing was sent"
        )
        return sentence.replace("nothing was sent", "a real run would send nothing") if self.dry_run else sentence

    @property
    def rows_valid(self) -> int:
        return self.rows_read - self.rows_invalid

    def exit_code(self, otherwise: int) -> int:
        """A stopped run's exit code (EXIT_STOPPED: nothing was sent), else ``otherwise``."""
        return EXIT_STOPPED if self.stopped is not None else otherwise


def judge(budget: Budget, rows_read: int, rows_invalid: int, dry_run: bool = False) -> Verdict:
    """Apply ``budget`` to a run that read ``rows_read`` rows and rejected ``rows_invalid`` before sending."""
    return Verdict(budget, rows_read, rows_invalid, dry_run)


def _share(rejected: int, read: int, budget: Budget) -> str:
    """The rejected share as a percentage, with just enough decimals to differ from the limit shown."""
    value = rejected * 100 / read
    for decimals in range(4):
        shown = f"{value:.{decimals}f}"
        if not budget.percent or float(shown) != budget.limit:
            return f"{shown}%"
    return f"{value}%"
