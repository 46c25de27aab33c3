"""The rating DAGs (weekly, monthly, annual), built from the pipeline steps (nothing heavy runs
at parse time). Every DAG writes, audits, then publishes:

start -> [fetch] -> land -> [validate raw] -> dbt transform -> validate candidates -> dbt marts
      -> publish
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.definitions.callback import SyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.timetables.base import Timetable
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable
from cosmos.config import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtBuildLocalOperator

from govpulse import deployment
from govpulse.contract import PLATFORMS
from govpulse.deployment import DeployedTerritory
from govpulse.orchestration import credentials
from govpulse.orchestration.airflow_home import warehouse_pool
from govpulse.periods import DEFAULT_TERRITORY
from govpulse.run import deadlines, pipeline
from govpulse.run import lock as run_lock
from govpulse.run.context import RunContext
from govpulse.settings import DBT_PROJECT_DIR
from govpulse.territory import Territory, TerritoryError
from ingestion.registry import RegistryError

log = logging.getLogger(__name__)

WAREHOUSE_POOL = warehouse_pool()  # a territory of GOVPULSE_TERRITORIES has its own pool
START_TASK = "start"
PATH_PARAMS = ("inbox", "registry", "warehouse", "publish_dir")

TRANSIENT_RETRIES: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=15)}


def _dbt_executable() -> str:
    """The dbt of this environment (the venv running Airflow), not whatever is on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def _run_context() -> RunContext:
    """The run `start` registered (its XCom), for the tasks after it."""
    value = get_current_context()["ti"].xcom_pull(task_ids=START_TASK)
    if value is None:
        raise AirflowFailException("the run did not start (see the start task)")
    return RunContext.of(value)


def on_task_failed(context: Any) -> None:
    """Airflow calls this once a task's last try has failed (never for a try it retries): the
    run is marked failed in ops.runs and, the first time, alerted; a missed deadline is noted.
    A task that fails before the run registered itself (start) has no run to mark."""
    ti = context["ti"]
    value = ti.xcom_pull(task_ids=START_TASK)
    if value is None:
        return
    run = RunContext.of(value)
    step = ti.task_id
    pipeline.fail_run(run, f"{step}: {context.get('exception')}")
    deadlines.check_run(run, f"failed at {step}")


def on_task_retry(context: Any) -> None:
    """A try failed and Airflow will retry the task: logged, nothing marked, nobody alerted."""
    ti = context["ti"]
    log.warning("%s failed on try %s and will be retried: %s", ti.task_id, ti.try_number,
                context.get("exception"))


class WarehouseDbtBuild(DbtBuildLocalOperator):
    """`dbt build` of a selection, for the period and warehouse of the current run."""

    def execute(self, context: Any, **kwargs: Any) -> Any:
        run = RunContext.of(context["ti"].xcom_pull(task_ids=START_TASK))
        inherited: dict[str, Any] = dict(getattr(self, "env", None) or {})  # Cosmos' attribute
        self.env = {**inherited, **pipeline.dbt_env(run)}
        self.vars = pipeline.dbt_vars(run)
        return super().execute(context, **kwargs)


def _dbt_step(task_id: str, selector: str, pool: str = WAREHOUSE_POOL) -> WarehouseDbtBuild:
    return WarehouseDbtBuild(
        task_id=task_id,
        project_dir=str(DBT_PROJECT_DIR),
        profile_config=ProfileConfig(
            profile_name="govpulse",
            target_name="default",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        selector=selector,  # dbt_project/selectors.yml
        # unit tests check the code and run in `make test` (tests/test_dbt_project.py); a run
        # builds the models and their data tests
        dbt_cmd_flags=["--exclude-resource-type", "unit_test"],
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_executable_path=_dbt_executable(),
        install_deps=False,
        emit_datasets=False,  # one pipeline, no downstream DAGs listen to per-model assets
        append_env=True,
        pool=pool,
        **TRANSIENT_RETRIES,
    )


@dataclass(frozen=True)
class RatingDag:
    """What differs between the rating DAGs; the steps are the same. The schedule, deadline
    and period boundaries follow the territory a DAG is built for (its territory.yml)."""

    dag_id: str
    kind: str  # weekly | monthly | annual (govpulse.periods.KINDS)
    description: str
    period_help: str
    fetch: bool = False  # pull the platforms' APIs before landing
    validate_raw: bool = True  # annual runs land nothing new
    publication_deadline: bool = False  # METHODOLOGY §0: a week is due by Friday 18:00

    def schedule(self, territory: Territory) -> Timetable:
        """When the period closes in the territory's zone; a run starts then."""
        zone = territory.timezone
        if self.kind == "weekly":  # the week [first weekday 00:00, a week later) local
            weekday = (territory.week_starts + 1) % 7  # cron counts from Sunday = 0
            return CronDataIntervalTimetable(f"0 0 * * {weekday}", timezone=zone)
        if self.kind == "monthly":  # the calendar month, local
            return CronDataIntervalTimetable("0 0 1 * *", timezone=zone)
        # 15 January: the last week of the year (closing in early January) is published by then
        return CronTriggerTimetable("0 12 15 1 *", timezone=zone)

    def deadline_alert(self, territory: Territory,
                       territory_id: str | None) -> DeadlineAlert | None:
        """Airflow's Deadline Alert: a scheduled run's logical date is its data interval start
        (the week's first day 00:00 local), so the week is due 7 days and the territory's
        deadline time later (an hour off across a DST change: the run's own check,
        deadlines.check_run, uses the exact local deadline). When the run is still not done
        then, the scheduler calls `govpulse.run.deadlines.on_deadline_missed`."""
        if not self.publication_deadline:
            return None
        due = territory.deadline
        # a week across a DST change is 167 or 169 hours: an alert an hour early would find
        # the deadline not passed yet and be lost, so such zones are alerted up to an hour late
        slack = timedelta(hours=1) if _has_dst(territory.zone) else timedelta(0)
        return DeadlineAlert(
            name="publication_deadline",
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=timedelta(days=7, hours=due.hour, minutes=due.minute) + slack,
            callback=SyncCallback(deadlines.on_deadline_missed,
                                  kwargs={"kind": self.kind, **(
                                      {"territory_id": territory_id} if territory_id else {})}),
        )

    def period_of(self, context: Mapping[str, Any], territory: Territory) -> str:
        """The period a scheduled run rates (a manual run passes `period_start`)."""
        zone = territory.timezone
        local = pendulum.instance(context["logical_date"]).in_timezone(zone)
        if self.kind == "annual":  # runs in January for the year before
            return str(local.year - 1)
        return pendulum.instance(context["data_interval_start"]).in_timezone(zone).date()


def _has_dst(zone: ZoneInfo) -> bool:
    """Whether the zone's offset changes within a year (this year's January and July)."""
    year = datetime.now(UTC).year
    return (datetime(year, 1, 1, tzinfo=zone).utcoffset()
            != datetime(year, 7, 1, tzinfo=zone).utcoffset())


WEEKLY = RatingDag(
    dag_id="weekly_ratings",
    kind="weekly",
    description="Weekly ratings of akimats in social networks (METHODOLOGY §1–4, §6)",
    period_help="First day of the week (a Friday by default); default: the run's data interval",
    fetch=True,
    publication_deadline=True,
)
MONTHLY = RatingDag(
    dag_id="monthly_incidents",
    kind="monthly",
    description="Monthly incident-response rating of responsible bodies and fakes report "
                "(METHODOLOGY §5, §8)",
    period_help="The month as YYYY-MM (or its first day); default: the run's data interval",
)
ANNUAL = RatingDag(
    dag_id="annual_ratings",
    kind="annual",
    description="The year's final tables of the weekly ratings (METHODOLOGY §7)",
    period_help="The year as YYYY; default: the year before the run",
    validate_raw=False,
)


def build_rating_dags(spec: RatingDag) -> dict[str, Any]:
    """The DAGs of a run kind, by id: one for the deployment's territory (the plain id), or,
    with GOVPULSE_TERRITORIES, one per territory that has ratings of this kind (the id
    prefixed with its territory_id). A DAG file puts them in its globals for Airflow."""
    deployed = deployment.configured()
    if deployed is None:
        return {spec.dag_id: build_rating_dag(spec)}
    built = [build_rating_dag(spec, t) for t in deployed if spec.kind in t.kinds()]
    return {d.dag_id: d for d in built}


def _parse_time_territory() -> Territory:
    """The territory a one-territory deployment schedules by (GOVPULSE_REGISTRY's). A bad
    territory.yml must not hide the DAG: it is scheduled by the defaults and its run's start
    refuses the file with a message naming it."""
    try:
        return deployment.single().territory
    except TerritoryError as exc:
        log.error("scheduling by the default territory: %s", exc)
        return DEFAULT_TERRITORY


def build_rating_dag(spec: RatingDag, deployed: DeployedTerritory | None = None):
    """The DAG of `spec` for one territory of GOVPULSE_TERRITORIES (`deployed`), or for the
    one territory of a deployment without it."""
    territory = deployed.territory if deployed else _parse_time_territory()
    territory_id = deployed.territory_id if deployed else None
    pool = warehouse_pool(territory_id)  # one writer at a time per warehouse file

    @dag(
        dag_id=deployment.dag_id(spec.kind, territory_id),
        description=spec.description + (f" — {territory.name_ru or territory_id}"
                                         if territory_id else ""),
        schedule=spec.schedule(territory),
        start_date=pendulum.datetime(2020, 1, 1, tz=territory.timezone),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=1,
        tags=["govpulse", spec.kind, *([territory_id] if territory_id else [])],
        deadline=spec.deadline_alert(territory, territory_id),
        # a run is marked failed (and alerted) when a task's last try fails, not before
        default_args={"on_failure_callback": on_task_failed,
                      "on_retry_callback": on_task_retry},
        params={
            "period_start": Param(None, type=["null", "string"], description=spec.period_help),
            "inbox": Param(None, type=["null", "string"]),
            "registry": Param(None, type=["null", "string"]),
            "warehouse": Param(None, type=["null", "string"]),
            "publish_dir": Param(None, type=["null", "string"]),
            "docs": Param(True, type="boolean",
                          description="write dbt docs and GX Data Docs next to the published "
                                      "file (a backfill writes them after its last period)"),
        },
        doc_md=__doc__,
    )
    def rating_dag() -> None:
        # Every task that writes the warehouse runs in its pool (one writer at a time) with the
        # retries of a transient error (a lock held a moment too long); when a task's last try
        # fails, on_task_failed marks the run failed in ops.runs. Errors a retry cannot mend
        # fail at once (AirflowFailException).
        @task(task_id=START_TASK, pool=pool, **TRANSIENT_RETRIES)
        def start() -> dict[str, Any]:
            context = get_current_context()
            params = context["params"]
            period = params.get("period_start") or spec.period_of(context, territory)
            paths = deployment.paths_of(deployed, *(params.get(k) for k in PATH_PARAMS))
            try:
                # a `govpulse run` on this warehouse holds it for its whole run
                run_lock.wait_until_free(paths.warehouse)
                return pipeline.start_run(paths, period, spec.kind,
                                          docs=params.get("docs", True)).to_xcom()
            except (ValueError, run_lock.WarehouseBusy) as exc:
                raise AirflowFailException(str(exc)) from exc

        # One fetch per platform; a platform failing does not stop the others: landing runs
        # when they are all done, and page completeness is a validation rule (so a failed
        # fetch does not mark the run failed: no on_failure_callback here).
        @task(retries=1, retry_delay=timedelta(minutes=1), map_index_template="{{ platform }}",
              on_failure_callback=None)
        def fetch(platform: str) -> str:
            get_current_context()["platform"] = platform  # type: ignore[typeddict-unknown-key]
            run = _run_context()
            if not credentials.configure(platform):
                raise AirflowSkipException(f"{platform}: no token configured, nothing fetched")
            try:
                report = credentials.fetch(run, platform)
            except RegistryError as exc:
                raise AirflowFailException(str(exc)) from exc
            if not report.ok:
                raise AirflowFailException(report.summary())
            return report.summary()

        @task(pool=pool, trigger_rule=TriggerRule.ALL_DONE, **TRANSIENT_RETRIES)
        def land() -> dict[str, Any]:
            run = _run_context()
            try:
                return pipeline.land(run)
            except (RegistryError, FileNotFoundError) as exc:
                raise AirflowFailException(str(exc)) from exc  # a retry would not help

        def validation_task(stage: str):
            @task(task_id=f"validate_{stage}", pool=pool, **TRANSIENT_RETRIES)
            def validate() -> str:
                try:
                    expected = credentials.configured_platforms() if stage == "raw" else ()
                    return pipeline.validate(_run_context(), stage, expected)
                except pipeline.ValidationFailed as exc:
                    raise AirflowFailException(str(exc)) from exc  # a retry would not help

            return validate()

        @task(pool=pool, **TRANSIENT_RETRIES)
        def publish() -> dict[str, Any]:
            run = _run_context()
            # noticed before the copy, so the published ops.alerts has it; a late publication
            # is still a publication
            deadlines.check_run(run, "published")
            # once the file is renamed into place the run is published: what fails after it
            # (Parquet, bulletin, docs) is recorded as an alert, not raised
            try:
                return pipeline.publish(run)
            except pipeline.PublishFailed as exc:
                raise AirflowFailException(str(exc)) from exc  # e.g. a full disk

        steps: list[Any] = [start()]
        if spec.fetch:
            steps.append(fetch.expand(platform=list(PLATFORMS)))
        steps.append(land())
        if spec.validate_raw:
            steps.append(validation_task("raw"))
        steps += [
            _dbt_step("dbt_transform", f"{spec.kind}_transform", pool),
            validation_task("candidates"),
            _dbt_step("dbt_marts", f"{spec.kind}_marts", pool),
            publish(),
        ]
        for upstream, downstream in zip(steps, steps[1:], strict=False):
            upstream >> downstream

    return rating_dag()
