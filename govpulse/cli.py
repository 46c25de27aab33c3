"""`govpulse` command line (CONTRACTS §1)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from govpulse import deployment
from govpulse.contract import PLATFORMS
from govpulse.orchestration import airflow_home
from govpulse.periods import (
    current_time,
    parse_month,
    parse_week,
    parse_year,
    period_closes_at,
    period_start_of,
    refuse_open_period,
)
from govpulse.run.lock import WarehouseBusy
from govpulse.run.pipeline import PublishFailed
from govpulse.settings import STATE_DIR, Paths
from govpulse.territory import Territory, load_territory

TERRITORY_HELP = ("a territory of the deployment's GOVPULSE_TERRITORIES folder, by its "
                  "territory_id (default: the only one); its inbox, warehouse and published "
                  "folder are its own (`govpulse territories` lists them)")
PATH_OPTIONS = (
    ("--inbox", "inbox folder with one sub-folder per dataset (env GOVPULSE_INBOX)"),
    ("--registry", "registry folder of CSV files (env GOVPULSE_REGISTRY; default registry/kz)"),
    ("--warehouse", "private DuckDB warehouse file (env GOVPULSE_WAREHOUSE)"),
    ("--publish-dir", "folder of the published warehouse.duckdb (env GOVPULSE_PUBLISH_DIR)"),
)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD") from None


def _checked(parse):
    """argparse shows a type's own message only for ArgumentTypeError."""
    def parse_argument(value: str):
        try:
            return parse(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse_argument.__name__ = parse.__name__
    return parse_argument


def _add_path_options(parser: argparse.ArgumentParser) -> None:
    for flag, help_text in PATH_OPTIONS:
        parser.add_argument(flag, help=help_text)
    parser.add_argument("--territory", help=TERRITORY_HELP)


def _paths(args: argparse.Namespace) -> tuple[Paths, Territory, str | None]:
    """The command's paths, territory and territory_id (None in a deployment without
    GOVPULSE_TERRITORIES): explicit options first, then the territory's own paths."""
    given = [getattr(args, k, None) for k in ("inbox", "registry", "warehouse", "publish_dir")]
    deployed = deployment.choose(getattr(args, "territory", None), given[1])
    paths = deployment.paths_of(deployed, *given)
    territory = deployed.territory if deployed else load_territory(paths.registry)
    return paths, territory, deployed.territory_id if deployed else None


def _command(commands: Any, name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A sub-command whose --help starts with the same sentence as its line in the list."""
    return commands.add_parser(name, help=help_text, description=help_text[0].upper()
                               + help_text[1:] + ".", **kwargs)


RUN_EPILOG = (
    "While the DAG runs, a line per task shows how it ended and how long it took; at the end a "
    "summary gives the rows loaded and quarantined, the validations passed and failed, the "
    "revision published and where the published file is. Exit status 0 when the run "
    "succeeded, 1 when it failed (nothing is published then), 2 for a bad option or path."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govpulse",
        description="Ratings of government bodies in social networks, on Airflow + dbt + DuckDB.",
        epilog="Run `govpulse <command> --help` for the options of a command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    run = _command(commands, "run", "run a rating DAG through Airflow for one period",
                   epilog=RUN_EPILOG)
    run_kinds = run.add_subparsers(dest="kind", required=True, metavar="<kind>")
    weekly = _command(
        run_kinds, "weekly",
        "the four weekly ratings of one reporting week (Friday 00:00 to Friday 00:00 local "
        "time by default: territory.yml sets the zone, first day and deadline), due by 18:00 "
        "of the day it closes", epilog=RUN_EPILOG)
    # checked against the territory's week_starts (territory.yml) once the registry is known
    weekly.add_argument("--period-start", required=True, type=_checked(_iso_date),
                        metavar="DATE", help="first day of the week (YYYY-MM-DD): a Friday, or "
                        "the day week_starts names in the registry's territory.yml")
    monthly = _command(
        run_kinds, "monthly",
        "the incident-response rating and the fakes report of one calendar month "
        "(METHODOLOGY §5, §8)",
        epilog=RUN_EPILOG)
    monthly.add_argument("--month", dest="period_start", required=True, type=_checked(parse_month),
                         metavar="YYYY-MM", help="the month to rate, e.g. 2026-10")
    annual = _command(
        run_kinds, "annual",
        "the year's final tables of the weekly ratings (METHODOLOGY §7), from the weeks "
        "already published", epilog=RUN_EPILOG)
    annual.add_argument("--year", dest="period_start", required=True, type=_checked(parse_year),
                        metavar="YYYY", help="the year to sum up, e.g. 2026")
    for kind_parser in (weekly, monthly, annual):
        _add_path_options(kind_parser)
        kind_parser.add_argument("-v", "--verbose", action="store_true",
                                 help="show Airflow's own task logs instead of one progress "
                                      "line per task (default: progress, warnings and the "
                                      "summary)")
        kind_parser.add_argument("--no-docs", dest="docs", action="store_false",
                                 help="leave the published dbt docs and GX Data Docs as they "
                                      "are (quicker re-runs; the data, Parquet and bulletin "
                                      "are published as usual)")
        kind_parser.add_argument("--no-wait", dest="wait", action="store_false",
                                 help="when another run holds the warehouse, stop at once "
                                      "saying which run it is (default: wait for it)")

    fetch = _command(
        commands, "fetch",
        "pull the week's page snapshots and posts of every registry page on a platform "
        "through its API into the inbox",
        epilog="Base URL and token come from GOVPULSE_<PLATFORM>_API_URL and "
               "GOVPULSE_<PLATFORM>_TOKEN (e.g. GOVPULSE_VK_TOKEN).")
    fetch.add_argument("platform", choices=PLATFORMS, help="the platform to fetch")
    fetch.add_argument("--period-start", required=True, type=_checked(_iso_date), metavar="DATE",
                       help="first day of the week (YYYY-MM-DD): a Friday, or the day "
                            "week_starts names in the registry's territory.yml")
    fetch.add_argument("--registry", help=PATH_OPTIONS[1][1])
    fetch.add_argument("--inbox", help=PATH_OPTIONS[0][1])
    fetch.add_argument("--territory", help=TERRITORY_HELP)

    backfill = _command(
        commands, "backfill",
        "run every week (and month) whose first day lies between two dates, in the order they "
        "close, each through its Airflow DAG; periods whose inputs did not change publish "
        "nothing new, so a backfill can be re-run")
    backfill.add_argument("--from", dest="first", required=True, type=_checked(date.fromisoformat),
                          metavar="DATE", help="first day of the range (YYYY-MM-DD)")
    backfill.add_argument("--to", dest="last", required=True, type=_checked(date.fromisoformat),
                          metavar="DATE", help="last day of the range, inclusive (YYYY-MM-DD)")
    backfill.add_argument("--no-monthly", dest="monthly", action="store_false",
                          help="weeks only (default: also the incident rating of every month)")
    _add_path_options(backfill)
    backfill.add_argument("-v", "--verbose", action="store_true",
                          help="show Airflow's own task logs instead of one line per task")
    backfill.add_argument("--no-wait", dest="wait", action="store_false",
                          help="when another run holds the warehouse, stop at once "
                               "saying which run it is (default: wait for it)")

    bulletin = _command(
        commands, "bulletin",
        "write the bulletin of a published week (HTML page in Russian, CSV per rating, PNG "
        "charts) or month (the ЦУР's incident leaders and fakes report); runs write their own")
    bulletin_period = bulletin.add_mutually_exclusive_group(required=True)
    bulletin_period.add_argument("--period-start", type=_checked(_iso_date), metavar="DATE",
                                 help="first day of the week (YYYY-MM-DD)")
    bulletin_period.add_argument("--month", type=_checked(parse_month), metavar="YYYY-MM",
                                 help="the month, e.g. 2026-11")
    bulletin.add_argument("--publish-dir", help=PATH_OPTIONS[3][1])
    bulletin.add_argument("--registry", help=PATH_OPTIONS[1][1] + ": its zone, languages and "
                          "body group names")
    bulletin.add_argument("--territory", help=TERRITORY_HELP)
    bulletin.add_argument("--out", type=Path,
                          help="folder of the bulletins (default <publish-dir>/bulletin)")

    show = _command(commands, "show", "print the top of each published rating")
    show.add_argument("--publish-dir", help=PATH_OPTIONS[3][1])
    show.add_argument("--registry", help=PATH_OPTIONS[1][1] + ": its body group names")
    show.add_argument("--territory", help=TERRITORY_HELP)
    show.add_argument("--top", type=int, default=5, help="rows per rating (default 5)")

    restore = _command(
        commands, "restore-previous",
        "put back the published file the last publication replaced (kept as "
        "warehouse.previous.duckdb), swapping the two in one step",
        epilog="The replaced file becomes the previous one, so running it again undoes it. The "
               "Parquet copies are rewritten from the restored file. The private warehouse is "
               "not changed: the next run publishes its newer revisions again.")
    restore.add_argument("--publish-dir", help=PATH_OPTIONS[3][1])
    restore.add_argument("--territory", help=TERRITORY_HELP)

    withdraw = _command(
        commands, "withdraw",
        "withdraw a wrong publication of a week, month or year for good, with the reason, as "
        "a new revision (its history stays queryable)",
        epilog="The _current views, the annual tables, `govpulse show`, the bulletin and the "
               "Parquet's marts.withdrawals then say the period is withdrawn. Runs of other "
               "periods never bring it back; `govpulse run` of that very period rates it again "
               "as a new revision.")
    withdraw.add_argument("kind", choices=("weekly", "monthly", "annual"),
                          help="what was published: a week's four ratings, a month's incident "
                               "rating or a year's tables")
    withdraw.add_argument("period", metavar="PERIOD",
                          help="the week's Friday (YYYY-MM-DD), the month (YYYY-MM) or the year "
                               "(YYYY)")
    withdraw.add_argument("--reason", required=True,
                          help="why it is withdrawn (published with the withdrawal)")
    withdraw.add_argument("--warehouse", help=PATH_OPTIONS[2][1])
    withdraw.add_argument("--publish-dir", help=PATH_OPTIONS[3][1])
    withdraw.add_argument("--territory", help=TERRITORY_HELP)
    withdraw.add_argument("--no-wait", dest="wait", action="store_false",
                          help="when another run holds the warehouse, stop at once "
                               "saying which run it is (default: wait for it)")

    generate = _command(commands, "generate",
                        "write a deterministic synthetic registry and inbox")
    generate.add_argument("--out", required=True, type=Path,
                          help="folder to write <out>/registry and <out>/inbox into")
    generate.add_argument("--weeks", type=int, default=2, help="number of weeks (default 2)")
    generate.add_argument("--scale", type=float, default=0.001,
                          help="1 = a national week (~20 million mentions, 50,000 pages); "
                               "default 0.001")
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument("--territory", choices=("kz", "ru-mari-el"),
                          help="write the multi-territory layout instead: the territory's "
                               "registry into <out>/territories/<id> and its inbox into "
                               "<out>/inbox/<id> (kz: the weeks' ratings and incidents; "
                               "ru-mari-el: the month of the last week's incidents and fakes)")
    generate.add_argument("--first-week", type=_checked(parse_week), metavar="DATE",
                          help="first Friday to generate (default: ends with the last full week)")
    territories = _command(
        commands, "territories",
        "list the territories this deployment serves (GOVPULSE_TERRITORIES, or the one "
        "registry) with their zone, ratings, DAGs and latest published periods")
    territories.add_argument("--registry", help=PATH_OPTIONS[1][1])
    bench = _command(
        commands, "bench",
        "run the weekly DAG on a generated week and measure each phase against the floor (one "
        "DuckDB statement), a pandas script and a dlt load of the same files",
        epilog="Prints wall time, CPU time and peak memory per phase with ratios and issue 6's "
               "targets, and writes them to <work-dir>/bench.json and "
               "<work-dir>/scale-<x>/publish/bench.json. docs/performance.md explains the "
               "numbers.")
    bench.add_argument("--scale", dest="scales", type=float, action="append", metavar="X",
                       help="1 = a national week (~20 million mentions); repeat for several "
                            "(default: 0.01)")
    bench.add_argument("--work-dir", type=Path, default=STATE_DIR / "bench",
                       help="where the generated weeks, warehouses and results go "
                            "(default var/bench; a week already generated there is reused)")
    bench.add_argument("--peers", default="floor,pandas,dlt",
                       help="comma-separated peers to run (default floor,pandas,dlt)")
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
        if args.command == "backfill":
            return _backfill(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "bulletin":
            return _bulletin(args)
        if args.command == "territories":
            from govpulse.publish.territories import describe

            print(describe(deployment.configured() or [deployment.single(args.registry)]))
            return 0
        if args.command == "restore-previous":
            return _restore_previous(args)
        if args.command == "withdraw":
            return _withdraw(args)
        if args.command == "show":
            from govpulse.publish.body_groups import group_names, load_group_labels
            from govpulse.publish.report import show

            paths, territory, _ = _paths(args)
            print(show(paths.published_file, args.top,
                       groups=group_names(load_group_labels(paths.registry)),
                       weekly="weekly" in deployment.kinds_of(territory)))
            return 0
    except (FileNotFoundError, ValueError) as exc:
        print(f"govpulse: {exc}", file=sys.stderr)
        return 2
    except (WarehouseBusy, PublishFailed) as exc:  # another run; a full disk
        print(f"govpulse: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 2


def _restore_previous(args: argparse.Namespace) -> int:
    from govpulse.publish.parquet import export_parquet
    from govpulse.publish.warehouse_file import restore_previous

    target = _paths(args)[0].published_file
    previous = restore_previous(target)
    exported = export_parquet(target)
    print(f"Restored the previous published file: {target} (the one it replaced is now "
          f"{previous.name}; run this again to undo). Parquet of {len(exported)} rating "
          f"histories rewritten from it.")
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    from govpulse.run.withdraw import annual_note, withdraw

    paths = _paths(args)[0]
    done = withdraw(paths, args.kind, args.period, args.reason, wait=args.wait,
                    stream=sys.stdout)
    print(f"{done['message'][0].upper()}{done['message'][1:]}: {done['published_file']} "
          f"(run {done['run_id']}). The period's history stays in the published file; "
          "marts.withdrawals says when and why.")
    if done["bulletin"]:
        print(f"  bulletin: {done['bulletin']} now says the week is withdrawn")
    note = annual_note(args.kind, done["period_start"], paths.published_file)
    if note:
        print(f"  note: {note}")
    for problem in done["problems"]:
        print(f"  problem: {problem}", file=sys.stderr)
    return 0


def _fetch(args: argparse.Namespace) -> int:
    """One platform's fetch, with the token the fetch task would use
    (govpulse.orchestration.credentials: the Airflow connection, e.g. AIRFLOW_CONN_GOVPULSE_VK
    or a secrets backend, else GOVPULSE_<P>_TOKEN)."""
    from govpulse.orchestration.credentials import credentials
    from ingestion.connectors.fetch import fetch_platform

    paths, territory, _ = _paths(args)
    args.period_start = period_start_of("weekly", args.period_start, territory)
    found = credentials(args.platform)
    if found is None:
        print(f"govpulse: {args.platform}: no token configured — define the Airflow connection "
              f"govpulse_{args.platform} or set GOVPULSE_{args.platform.upper()}_TOKEN",
              file=sys.stderr)
        return 1
    report = fetch_platform(args.platform, args.period_start, paths.registry, paths.inbox,
                            token=found.token, api_url=found.api_url)
    print(report.summary())
    return 0 if report.ok else 1


def _generate(args: argparse.Namespace) -> int:
    if args.territory:
        from devtools.demo_territories import generate_territory

        done = generate_territory(args.territory, args.out, weeks=args.weeks, scale=args.scale,
                                  seed=args.seed, first_week=args.first_week)
        print(f"Generated territory {args.territory} ({', '.join(done['periods'])}, seed "
              f"{args.seed}): registry {done['registry']}, inbox {done['inbox']}")
        for dataset, rows in done["rows"].items():
            print(f"  {dataset:<18} {rows:>9,} rows")
        return 0
    from devtools.generate import generate

    summary = generate(args.out, weeks=args.weeks, scale=args.scale, seed=args.seed,
                       first_period_start=args.first_week)
    weeks = ", ".join(summary["period_starts"])
    print(f"Generated a synthetic registry and inbox in {args.out} (weeks {weeks}, "
          f"seed {args.seed}):")
    for dataset, info in summary["datasets"].items():
        print(f"  {dataset:<18} {info['rows']:>9,} rows in {len(info['files'])} files")
    return 0


def _bulletin(args: argparse.Namespace) -> int:
    from govpulse.publish.body_groups import load_group_labels
    from govpulse.publish.bulletin import write_bulletin
    from govpulse.publish.bulletin_monthly import write_monthly_bulletin

    paths, territory, _ = _paths(args)
    out = args.out or paths.bulletin_dir
    if args.month:
        page = write_monthly_bulletin(paths.published_file, args.month, out, territory,
                                      load_group_labels(paths.registry))
        print(f"Bulletin of the month {args.month:%Y-%m}: {page}")
        return 0
    week = period_start_of("weekly", args.period_start, territory)
    page = write_bulletin(paths.published_file, week, out, territory)
    print(f"Bulletin of the week {week}: {page}")
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from govpulse.orchestration.backfill import backfill, closed_periods, periods_between

    paths, territory, territory_id = _paths(args)
    periods, not_over = closed_periods(periods_between(args.first, args.last,
                                                       months=args.monthly,
                                                       territory=territory),
                                       territory=territory)
    if not_over:
        print(f"Stopping at the last closed period: {len(not_over)} of the range "
              f"({not_over[0]} to {not_over[-1]}) not over yet; "
              f"{not_over[0].closing(territory=territory)}", flush=True)
    if not periods:
        raise ValueError(f"no period from {args.first} to {args.last} has closed yet")
    if not args.verbose:
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
    airflow_home.ensure_initialized()
    print(f"Backfilling {len(periods)} periods from {args.first} to {args.last} "
          f"(inbox {paths.inbox}) …", flush=True)
    done = backfill(paths, periods, sys.stdout, progress=None if args.verbose else sys.stdout,
                    wait=args.wait, territory_id=territory_id)
    return 0 if all(outcome.ok for _, outcome, _ in done) else 1


def _bench(args: argparse.Namespace) -> int:
    from devtools.bench.harness import PEERS, run_bench

    peers = tuple(p for p in args.peers.split(",") if p)
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise ValueError(f"unknown peer(s) {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    if any(scale <= 0 for scale in args.scales or []):
        raise ValueError("--scale must be positive")
    airflow_home.ensure_initialized()
    report = run_bench(args.scales or [0.01], args.work_dir, peers)
    return 1 if any(s["failures"] for s in report["scales"]) else 0


def _run(args: argparse.Namespace) -> int:
    from govpulse.orchestration.runner import run_dag

    # before Airflow starts (the DAG's start checks again): a bad territory.yml, a week that
    # does not start on the territory's day and a period that is not over are refused
    paths, territory, territory_id = _paths(args)
    args.period_start = period_start_of(args.kind, args.period_start, territory)
    refuse_open_period(args.kind, args.period_start, territory=territory)
    if not args.verbose:
        # the progress lines and the summary tell the story; --verbose shows Airflow's logs
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
    airflow_home.ensure_initialized()
    period = {"weekly": f"the week {args.period_start}",
              "monthly": f"the month {args.period_start:%Y-%m}",
              "annual": f"the year {args.period_start:%Y}"}[args.kind]
    closes = period_closes_at(args.kind, args.period_start, territory)
    if args.kind == "annual" and current_time(territory) < closes:
        period += (f" to date (the year closes on {closes:%Y-%m-%d}: its tables sum up "
                   "the weeks published so far)")
    print(f"Running {deployment.dag_id(args.kind, territory_id)} for {period} through Airflow "
          f"(inbox {paths.inbox}) …", flush=True)
    # progress lines replace Airflow's task logs; with --verbose the logs are the progress
    outcome = run_dag(args.kind, paths, args.period_start,
                      progress=None if args.verbose else sys.stdout, docs=args.docs,
                      wait=args.wait, territory_id=territory_id)
    if outcome.run:
        print(outcome.summary(), flush=True)
    if not outcome.ok:
        print(f"govpulse: {args.kind} run for {period} failed: {outcome.reason}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
