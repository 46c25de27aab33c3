"""What validation reports: one result per expectation, and the report of a stage.

`ops.validations` keeps the results (`validation.record`); the run's message is the report's
`summary()`, a failure in the plain words of `govpulse.quality.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from govpulse.quality import messages

# ops.validations.observed_value is published: it stays short
OBSERVED_MAX_CHARS = 1000

SKIPPED = "suite_skipped"  # pseudo-expectation: raw dataset without rows in the run
TABLE_EXISTS = "table_exists"  # pseudo-expectation: candidate table missing
QUERY_FAILED = "query_failed"  # pseudo-expectation: DuckDB could not compute a frame
WEIGHTS_CONFIGURED = "weights_configured"  # pseudo-expectation: the rating has no weights
INPUTS_PRESENT = "inputs_present"  # pseudo-expectation: some unit has inputs (issue 14)
RECORDS_ACCOUNTED = "records_accounted_for"  # pseudo-expectation (issue 14)


@dataclass(frozen=True)
class ExpectationResult:
    suite: str
    expectation: str  # GX expectation type, or SKIPPED / TABLE_EXISTS / QUERY_FAILED
    column: str | None
    success: bool
    observed_value: str | None
    details: str | None = None  # JSON: frame, frame size, expectation kwargs
    # a failure in plain words, for the run's message (govpulse.quality.messages)
    explanation: str | None = None


@dataclass
class ValidationReport:
    success: bool
    results: list[ExpectationResult] = field(default_factory=list)
    stage: str = ""  # "raw" | "candidates"
    run_id: str = ""
    period_start: date | None = None
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # GX ExpectationSuiteValidationResult per (suite, frame), suite name "<suite>.<frame>"
    # (govpulse.publish.data_docs stores them for the Data Docs; not recorded in ops.validations)
    gx_results: list[Any] = field(default_factory=list, repr=False)

    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def skipped(self) -> list[str]:
        return [r.suite for r in self.results if r.expectation == SKIPPED]

    def summary(self) -> str:
        checks = [r for r in self.results if r.expectation != SKIPPED]
        passed = sum(r.success for r in checks)
        text = f"{self.stage or 'validation'}: {passed}/{len(checks)} expectations passed"
        if skipped := self.skipped():
            text += f" ({len(skipped)} skipped, no rows in the run: {', '.join(skipped)})"
        if failures := self.failures():
            text += f"; {len(failures)} failed: " + "; ".join(
                f.explanation or _technical(f) for f in failures[:3])
            if len(failures) > 3:
                text += f"; and {len(failures) - 3} more in ops.validations"
            if advice := messages.advice(self.stage, {(f.suite, f.expectation)
                                                      for f in failures}):
                text += f". What to do: {advice}"
        return " ".join(text.split())


def _technical(f: ExpectationResult) -> str:
    column = f"({f.column})" if f.column else ""
    return (f"{messages.subject(f.suite)}: {f.expectation}{column} observed "
            f"{(f.observed_value or '')[:200]}")


def clip(text: str) -> str:
    return text if len(text) <= OBSERVED_MAX_CHARS else text[: OBSERVED_MAX_CHARS - 1] + "…"
