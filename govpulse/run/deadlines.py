"""The publication deadline of a reporting week (METHODOLOGY §0): due by the territory's
`deadline` (18:00 by default) in its zone on the day the week closes (Friday 18:00 Asia/Almaty
without a territory.yml). A run that publishes (or fails) after it records a `deadline_missed`
row in `ops.alerts` and logs a warning; a late publication is still a publication.

Two ways a miss is noticed:
- the run itself, at publish and when a task fails (`check_run`);
- Airflow's Deadline Alert of `weekly_ratings` (`on_deadline_missed`), when the DAG run is still
  not done at the deadline (the scheduler queues the callback; nothing happens if the run finished
  in time, Airflow prunes the deadline).

One alert per week, ever: the deadline concerns the week's first publication. So
- noticing the same miss twice (a retry, publish then the Airflow callback, a failed run then
  its re-run) records it once, against the first run that noticed it;
- a re-run or backfill of a week that was already published (status success or unchanged in
  ops.runs) records nothing: it publishes a revision, which has no deadline;
- a backfill of a week that was never published records the one alert, saying the week is first
  published that late (true, and the operator filling in history expects one per week). The
  message tells a catch-up (more than 7 days late) from an ordinary miss.
"""

from __future__ import annotations

import logging
import time as _time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from govpulse.periods import DEFAULT_TERRITORY
from govpulse.run import notify
from govpulse.run.context import RunContext
from govpulse.territory import Territory, TerritoryError, load_territory
from govpulse.warehouse.schema import connect, ensure_schema
from govpulse.warehouse.sql import first_row

log = logging.getLogger(__name__)

# From the week's start (the scheduled run's logical date = its data interval start) to the
# deadline of the Airflow Deadline Alert: 7 days to the closing midnight, then 18 hours.
# Asia/Almaty has no DST (UTC+5 since 2024-03-01), so a fixed interval is exact there; the run's
# own check (check_run) uses the territory's local deadline in any zone.
DEADLINE_AFTER_PERIOD_START = timedelta(days=7, hours=18)
DEADLINE_MISSED = "deadline_missed"
KINDS_WITH_DEADLINE = ("weekly",)
# A first publication later than this after the deadline is a catch-up (a backfill of history).
CATCH_UP = timedelta(days=7)


def publication_deadline(period_start: date | str,
                         territory: Territory | None = None) -> datetime:
    """When the week that starts on `period_start` must be published: the territory's deadline
    (default 18:00) in its zone on the day the week closes, as an aware datetime."""
    territory = territory or DEFAULT_TERRITORY
    if isinstance(period_start, datetime):
        start = period_start.astimezone(territory.zone).date()
    elif isinstance(period_start, date):
        start = period_start
    else:
        start = date.fromisoformat(str(period_start))
    return datetime.combine(start + timedelta(days=7), territory.deadline, tzinfo=territory.zone)


def record_alert(warehouse: Path, run_id: str, period_start: date | str, deadline: datetime,
                 message: str, noticed_at: datetime | None = None, attempts: int = 5) -> bool:
    """Insert a `deadline_missed` alert unless the week has one already; return whether a row
    was added. Retries a few times while another writer holds the warehouse."""
    noticed_at = noticed_at or datetime.now(UTC)
    for attempt in range(attempts):
        try:
            with connect(warehouse) as con:
                ensure_schema(con)
                exists = first_row(con.execute(
                    "SELECT count(*) FROM ops.alerts WHERE kind = ? AND period_start = ?",
                    [DEADLINE_MISSED, str(period_start)],
                ))[0]
                if exists:
                    return False
                con.execute(
                    "INSERT INTO ops.alerts (run_id, kind, period_start, deadline, noticed_at, "
                    "message) VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, DEADLINE_MISSED, str(period_start), deadline, noticed_at,
                     message[:2000]],
                )
            notify.send(DEADLINE_MISSED, message, str(period_start), run_id)
            return True
        except Exception as exc:
            if attempt == attempts - 1 or "lock" not in str(exc).lower():
                raise
            _time.sleep(2 * (attempt + 1))
    return False


def check_run(run: RunContext | None, event: str, now: datetime | None = None) -> bool:
    """At publish or failure of a run: if its week's deadline has passed and the week was never
    published, log a warning and record an alert (once per week). Returns whether the deadline
    was missed by this publication (False for a re-run of a published week)."""
    if not run or run.kind not in KINDS_WITH_DEADLINE:
        return False
    now = now or datetime.now(UTC)
    territory = _territory(run.paths.registry)
    deadline = publication_deadline(run.period_start, territory)
    if now <= deadline:
        return False
    warehouse = run.paths.warehouse
    if _published_before(warehouse, run.period_start.isoformat(), run.run_id):
        log.info("week %s was published before: a re-run publishes a revision, no deadline",
                 run.period_start)
        return False
    late = _late_by(now - deadline)
    catch_up = " (a backfill or catch-up: first publication)" if now - deadline > CATCH_UP else ""
    message = (f"week {run.period_start} {event} {late} after its publication deadline "
               f"{deadline:%Y-%m-%d %H:%M} {territory.timezone}{catch_up} (METHODOLOGY §0)")
    log.warning("deadline missed: %s", message)
    try:  # an alert that cannot be written must not stop the publication
        record_alert(warehouse, run.run_id, run.period_start, deadline, message,
                     noticed_at=now)
    except Exception:
        log.exception("could not record the missed deadline in ops.alerts")
    return True


def _published_before(warehouse: Path, period_start: str, run_id: str) -> bool:
    """Whether another run published the week already (its first publication is past)."""
    if not warehouse.exists():
        return False
    try:
        with connect(warehouse, read_only=True) as con:
            return first_row(con.execute(
                "SELECT count(*) FROM ops.runs WHERE kind = 'weekly' AND period_start = ? "
                "AND run_id <> ? AND status IN ('success', 'unchanged')",
                [str(period_start), run_id],
            ))[0] > 0
    except Exception:  # noqa: BLE001 - locked or no ops yet: check as a first publication
        return False


def _late_by(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def on_deadline_missed(context: dict[str, Any] | None = None, kind: str = "weekly",
                       territory_id: str | None = None) -> None:
    """Airflow Deadline Alert callback (a SyncCallback of `weekly_ratings`): the DAG run is still
    not done at its deadline. Records the alert against the run's entry in ops.runs (or the Airflow
    run id when the run did not get as far as registering itself). `territory_id` names the
    DAG's territory in a deployment with GOVPULSE_TERRITORIES (its own paths)."""
    from govpulse import deployment

    dag_run = (context or {}).get("dag_run") or {}
    conf = dag_run.get("conf") or {}
    deployed = deployment.choose(territory_id) if territory_id else None
    paths = deployment.paths_of(deployed, conf.get("inbox"), conf.get("registry"),
                                conf.get("warehouse"), conf.get("publish_dir"))
    territory = _territory(paths.registry)
    period = conf.get("period_start") or _local_date(dag_run.get("data_interval_start")
                                                     or dag_run.get("logical_date"), territory)
    if period is None:
        log.error("deadline missed for DAG run %s, but its week is unknown", dag_run.get("run_id"))
        return
    deadline = publication_deadline(period, territory)
    now = datetime.now(UTC)
    if now <= deadline:  # a manual run of a current week: Airflow's reference is its own date
        return
    run_id = _registered_run(paths.warehouse, kind, period) or f"airflow:{dag_run.get('run_id')}"
    if _published_before(paths.warehouse, period, run_id):
        log.info("week %s was published before: a stuck re-run has no deadline", period)
        return
    message = (f"week {period} not published by its deadline {deadline:%Y-%m-%d %H:%M} "
               f"{territory.timezone}: DAG run {dag_run.get('run_id')} is still "
               f"{dag_run.get('state') or 'running'}")
    log.warning("deadline missed: %s", message)
    record_alert(paths.warehouse, run_id, period, deadline, message, noticed_at=now)


def _local_date(value: Any, territory: Territory) -> str | None:
    if not value:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(territory.zone).date().isoformat()


def _territory(registry: Path) -> Territory:
    """The registry's territory; the default one when its settings cannot be read (the run
    itself refuses a bad territory.yml at start, naming it: an alert must still be recorded)."""
    try:
        return load_territory(registry)
    except TerritoryError:
        log.warning("deadline of the default territory: %s is not readable", registry)
        return DEFAULT_TERRITORY


def _registered_run(warehouse: Path, kind: str, period: str) -> str | None:
    if not warehouse.exists():
        return None
    try:
        with connect(warehouse, read_only=True) as con:
            row = con.execute(
                "SELECT run_id FROM ops.runs WHERE kind = ? AND period_start = ? "
                "ORDER BY started_at DESC LIMIT 1", [kind, period],
            ).fetchone()
    except Exception:  # noqa: BLE001 - locked by the running DAG, or no ops schema yet
        return None
    return row[0] if row else None
