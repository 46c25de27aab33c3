"""`govpulse` command line (CONTRACTS §1)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from govpulse import airflow_home
from govpulse.config import Paths, parse_month, parse_week, parse_year
from ingestion.contract import PLATFORMS

PATH_OPTIONS = (
    ("--inbox", "inbox folder with one sub-folder per dataset (env GOVPULSE_INBOX)"),
    ("--registry", "registry folder of CSV files (env GOVPULSE_REGISTRY; default registry/kz)"),
    ("--warehouse", "private DuckDB warehouse file (env GOVPULSE_WAREHOUSE)"),
    ("--publish-dir", "folder of the published warehouse.duckdb (env GOVPULSE_PUBLISH_DIR)"),
)


def _checked(parse):  # noqa: ANN001, ANN202 - an argparse `type`
    """argparse shows a type's own message only for ArgumentTypeError."""
    def parse_argument(value: str):  # noqa: ANN202
        try:
            return parse(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse_argument.__name__ = parse.__name__
    return parse_argument


def _add_path_options(parser: argparse.ArgumentParser) -> None:
    for flag, help_text in PATH_OPTIONS:
        parser.add_argument(flag, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govpulse",
        description="Ratings of government bodies in social networks, on Airflow + dbt + DuckDB.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a rating DAG through Airflow for one period")
    run_kinds = run.add_subparsers(dest="kind", required=True)
    weekly = run_kinds.add_parser(
        "weekly", help="the four weekly ratings of one reporting week (Friday to Friday)"
    )
    weekly.add_argument("--period-start", required=True, type=_checked(parse_week), metavar="DATE",
                        help="first day of the week, a Friday (YYYY-MM-DD)")
    monthly = run_kinds.add_parser(
        "monthly", help="the incident-response rating of one calendar month (METHODOLOGY §5)"
    )
    monthly.add_argument("--month", dest="period_start", required=True, type=_checked(parse_month),
                         metavar="YYYY-MM", help="the month to rate, e.g. 2026-10")
    annual = run_kinds.add_parser(
        "annual", help="the year's final tables of the weekly ratings (METHODOLOGY §7), from "
                       "the weeks already published")
    annual.add_argument("--year", dest="period_start", required=True, type=_checked(parse_year),
                        metavar="YYYY", help="the year to sum up, e.g. 2026")
    for kind_parser in (weekly, monthly, annual):
        _add_path_options(kind_parser)
        kind_parser.add_argument("-v", "--verbose", action="store_true",
                                 help="show Airflow's task logs (default: warnings and the "
                                      "summary)")

    fetch = commands.add_parser(
        "fetch", help="pull the week's page snapshots and posts of every registry page on a "
                      "platform through its API into the inbox")
    fetch.add_argument("platform", choices=PLATFORMS, help="the platform to fetch")
    fetch.add_argument("--period-start", required=True, type=_checked(parse_week), metavar="DATE",
                       help="first day of the week, a Friday (YYYY-MM-DD)")
    fetch.add_argument("--registry", help=PATH_OPTIONS[1][1])
    fetch.add_argument("--inbox", help=PATH_OPTIONS[0][1])
    fetch.epilog = ("Base URL and token come from GOVPULSE_<PLATFORM>_API_URL and "
                    "GOVPULSE_<PLATFORM>_TOKEN (e.g. GOVPULSE_VK_TOKEN).")

    show = commands.add_parser("show", help="print the top of each published weekly rating")
    show.add_argument("--publish-dir", help=PATH_OPTIONS[3][1])
    show.add_argument("--top", type=int, default=5, help="rows per rating (default 5)")

    generate = commands.add_parser(
        "generate", help="write a deterministic synthetic registry and inbox"
    )
    generate.add_argument("--out", required=True, type=Path,
                          help="folder to write <out>/registry and <out>/inbox into")
    generate.add_argument("--weeks", type=int, default=2, help="number of weeks (default 2)")
    generate.add_argument("--scale", type=float, default=0.001,
                          help="1 = a national week (~20 million mentions); default 0.001")
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument("--first-week", type=_checked(parse_week), metavar="DATE",
                          help="first Friday to generate (default: ends with the last full week)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "generate":
            return _generate(args)
        if args.command == "fetch":
            return _fetch(args)
        if args.command == "show":
            from govpulse.report import show

            print(show(Paths.resolve(publish_dir=args.publish_dir).published_file, args.top))
            return 0
    except (FileNotFoundError, ValueError) as exc:
        print(f"govpulse: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 2


def _fetch(args: argparse.Namespace) -> int:
    from ingestion.connectors.base import ConnectorError
    from ingestion.connectors.fetch import fetch_platform

    paths = Paths.resolve(inbox=args.inbox, registry=args.registry)
    try:
        report = fetch_platform(args.platform, args.period_start, paths.registry, paths.inbox)
    except ConnectorError as exc:
        print(f"govpulse: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0 if report.ok else 1


def _generate(args: argparse.Namespace) -> int:
    from ingestion.generate import generate

    summary = generate(args.out, weeks=args.weeks, scale=args.scale, seed=args.seed,
                       first_period_start=args.first_week)
    weeks = ", ".join(summary["period_starts"])
    print(f"Generated a synthetic registry and inbox in {args.out} (weeks {weeks}, "
          f"seed {args.seed}):")
    for dataset, info in summary["datasets"].items():
        print(f"  {dataset:<18} {info['rows']:>9,} rows in {len(info['files'])} files")
    return 0


def _run(args: argparse.Namespace) -> int:
    from govpulse.runner import DAG_IDS, run_dag

    paths = Paths.resolve(args.inbox, args.registry, args.warehouse, args.publish_dir)
    if not args.verbose:
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    airflow_home.ensure_initialized()
    period = {"weekly": f"the week {args.period_start}",
              "monthly": f"the month {args.period_start:%Y-%m}",
              "annual": f"the year {args.period_start:%Y}"}[args.kind]
    print(f"Running {DAG_IDS[args.kind]} for {period} through Airflow "
          f"(inbox {paths.inbox}) …", flush=True)
    outcome = run_dag(args.kind, paths, args.period_start)
    if not outcome.ok:
        print(f"govpulse: {args.kind} run for {period} failed: {outcome.reason}",
              file=sys.stderr)
        return 1
    print(outcome.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
