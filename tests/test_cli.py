"""The `govpulse` command: every command and option explains itself in --help, and `govpulse run
weekly` shows a line per task as the DAG runs, then a summary, without Airflow's own logs."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from govpulse.cli import build_parser
from tests.support import two_region_registry, write_files
from tests.test_bulletin import _chromium, needs_chromium

COMMANDS = [[], ["run"], ["run", "weekly"], ["run", "monthly"], ["run", "annual"], ["fetch"],
            ["generate"], ["show"], ["restore-previous"], ["withdraw"], ["backfill"]]
HEADER = ("platform,mention_id,published_at,text,author_id,author_type,likes,sentiment,"
          "entity_id\n")


def _parser_of(path: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "govpulse")
def test_every_command_and_option_has_help(path: list[str], capsys: pytest.CaptureFixture) -> None:
    parser = _parser_of(path)
    assert parser.description
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{path} {choice.dest}"
        else:
            assert action.help, f"{path} {action.option_strings or action.dest}"
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*path, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: govpulse {' '.join(path)}".rstrip())
    assert parser.description.split()[0] in text


@pytest.fixture(scope="module")
def weekly_run(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("cli")
    registry = two_region_registry(root / "registry")
    inbox = write_files(root / "inbox", {"mentions/w.csv": HEADER
                        + "vk,m1,2026-11-07 12:00,x,a1,person,1,neutral,A\n"
                        + "vk,m2,2026-11-07 13:00,x,a2,person,1,neutral,B\n"
                        + "vk,m3,2026-11-08 13:00,x,a3,person,1,neutral,A\n"
                        + "vk,bad,not a date,x,a4,person,1,neutral,A\n"})
    govpulse = Path(sys.executable).parent / "govpulse"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [str(govpulse), "run", "weekly", "--period-start", "2026-11-06", "--inbox", str(inbox),
         "--registry", str(registry), "--warehouse", str(root / "w.duckdb"),
         "--publish-dir", str(root / "publish")],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=900, check=False)
    return {"done": done, "root": root}


def test_run_weekly_succeeds(weekly_run: dict) -> None:
    done = weekly_run["done"]
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("task", "detail"), [
    ("start", r"run weekly-2026-11-06-"),
    ("land", r"3 rows landed, 1 quarantined"),
    ("validate_raw", r"raw: \d+/\d+ expectations passed"),
    ("dbt_transform", None),
    ("validate_candidates", r"candidates: \d+/\d+ expectations passed"),
    ("dbt_marts", None),
    ("publish", r"revision 1 published"),
])
def test_a_progress_line_per_task(weekly_run: dict, task: str, detail: str | None) -> None:
    lines = [line for line in weekly_run["done"].stdout.splitlines()
             if re.match(rf"  ✓ {task}\s+\d+\.\d s", line)]
    assert len(lines) == 1, weekly_run["done"].stdout
    if detail:
        assert re.search(rf" — {detail}", lines[0]), lines[0]


def test_fetch_without_tokens_is_shown_skipped_per_platform(weekly_run: dict) -> None:
    out = weekly_run["done"].stdout
    for platform in ("vk", "ok", "telegram", "youtube", "instagram", "facebook", "x"):
        assert re.search(rf"^  – fetch\[{platform}\]\s+\d+\.\d s — skipped$", out, re.M), out


def test_the_summary_ends_the_output(weekly_run: dict) -> None:
    out = weekly_run["done"].stdout
    summary = out[out.index("week 2026-11-06: success"):]
    published = weekly_run["root"] / "publish" / "warehouse.duckdb"
    for expected in (
        "week 2026-11-06: success (revision 1 published)",
        "  rows loaded: 3 (mentions 3); quarantined: 1;",
        "  revision published: 1",
        f"  published: {published}",
        f"  bulletin: {weekly_run['root'] / 'publish' / 'bulletin' / '2026-11-06'}",
        # the week closed on 2026-11-13: its publication is late (METHODOLOGY §0)
        "  alert: deadline_missed: week 2026-11-06 published",
        # per file, what it held and where each record went (issue 14: record conservation)
        "  files that did not land every record (records = landed + quarantined):\n"
        "    mentions/w.csv: 4 records = 3 landed + 1 quarantined",
    ):
        assert expected in summary, summary
    assert re.search(r"^  validations: [1-9]\d* passed, 0 failed$", summary, re.M), summary
    page = weekly_run["root"] / "publish" / "bulletin" / "2026-11-06" / "index.html"
    assert "Что говорит народ" in page.read_text(encoding="utf-8")


def test_quiet_without_verbose(weekly_run: dict) -> None:
    out = weekly_run["done"].stdout
    # no Airflow, Cosmos or dbt log lines between the progress lines
    assert not re.search(r"\[(info|warning|debug)\s*\]|INFO|Running with dbt", out), out
    assert "Traceback" not in weekly_run["done"].stderr


def test_progress_describes_what_tasks_returned() -> None:
    from govpulse.orchestration.progress import describe

    assert describe("land", {"rows_loaded": {"mentions": 74000, "incidents": 656},
                             "rows_quarantined": 12, "files_skipped": 0}) \
        == "74,656 rows landed, 12 quarantined"
    assert describe("publish", {"status": "unchanged", "revision": None}) \
        == "nothing changed, no new revision"
    assert describe("validate_raw", "raw: 3/3 expectations passed (2 skipped, no rows in the "
                                    "run: a, b)") == "raw: 3/3 expectations passed"
    assert describe("dbt_marts", None) == ""


@needs_chromium
def test_the_bulletin_of_the_run_renders_in_chromium(weekly_run: dict, tmp_path: Path) -> None:
    page = weekly_run["root"] / "publish" / "bulletin" / "2026-11-06" / "index.html"
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<table" in dom and "Первая" in dom and "Вторая" in dom
