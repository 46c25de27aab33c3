"""The weekly Airflow DAG, built from the pipeline steps (nothing heavy runs at parse time).

land -> validate raw -> dbt (staging, intermediate) -> validate candidates -> dbt (marts) -> publish
"""

from __future__ import annotations

import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.timetables.interval import CronDataIntervalTimetable
from cosmos.config import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtBuildLocalOperator

from govpulse import connectors, pipeline
from govpulse.config import DBT_PROJECT_DIR, Paths
from ingestion.contract import PLATFORMS
from ingestion.registry import RegistryError

TIMEZONE = "Asia/Almaty"
WAREHOUSE_POOL = "duckdb_warehouse"
START_TASK = "start"

TRANSIENT_RETRIES = {"retries": 2, "retry_delay": timedelta(seconds=15)}


def _dbt_executable() -> str:
    """The dbt of this environment (the venv running Airflow), not whatever is on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def _run_context() -> dict[str, Any]:
    return get_current_context()["ti"].xcom_pull(task_ids=START_TASK)


def _failing(run: dict[str, Any] | None, step: str, exc: BaseException) -> None:
    pipeline.fail_run(run, f"{step}: {exc}")


class WarehouseDbtBuild(DbtBuildLocalOperator):
    """`dbt build` of a selection, for the period and warehouse of the current run."""

    def execute(self, context: Any, **kwargs: Any) -> Any:
        run = context["ti"].xcom_pull(task_ids=START_TASK)
        self.env = {**(self.env or {}), **pipeline.dbt_env(run)}
        self.vars = pipeline.dbt_vars(run)
        try:
            return super().execute(context, **kwargs)
        except Exception as exc:
            _failing(run, self.task_id, exc)
            raise


def _dbt_step(task_id: str, select: list[str]) -> WarehouseDbtBuild:
    return WarehouseDbtBuild(
        task_id=task_id,
        project_dir=str(DBT_PROJECT_DIR),
        profile_config=ProfileConfig(
            profile_name="govpulse",
            target_name="default",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        select=select,
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_executable_path=_dbt_executable(),
        install_deps=False,
        emit_datasets=False,  # one pipeline, no downstream DAGs listen to per-model assets
        append_env=True,
        pool=WAREHOUSE_POOL,
        **TRANSIENT_RETRIES,
    )


def build_weekly_dag():  # noqa: ANN201 - the Task SDK's DAG type
    @dag(
        dag_id="weekly_ratings",
        description="Weekly ratings of akimats in social networks (METHODOLOGY §1–4, §6)",
        # The week is [Friday 00:00, next Friday 00:00) Asia/Almaty; it runs when it closes.
        schedule=CronDataIntervalTimetable("0 0 * * 5", timezone=TIMEZONE),
        start_date=pendulum.datetime(2020, 1, 3, tz=TIMEZONE),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=1,
        tags=["govpulse", "weekly"],
        params={
            "period_start": Param(None, type=["null", "string"],
                                  description="First day (a Friday) of the week; "
                                              "default: the run's data interval"),
            "inbox": Param(None, type=["null", "string"]),
            "registry": Param(None, type=["null", "string"]),
            "warehouse": Param(None, type=["null", "string"]),
            "publish_dir": Param(None, type=["null", "string"]),
        },
        doc_md=__doc__,
    )
    def weekly_ratings() -> None:
        @task(task_id=START_TASK)
        def start() -> dict[str, Any]:
            context = get_current_context()
            params = context["params"]
            week = params.get("period_start")
            if not week:
                interval_start = context["data_interval_start"]
                week = pendulum.instance(interval_start).in_timezone(TIMEZONE).date()
            paths = Paths.resolve(params.get("inbox"), params.get("registry"),
                                  params.get("warehouse"), params.get("publish_dir"))
            try:
                return pipeline.start_run(paths, week)
            except ValueError as exc:
                raise AirflowFailException(str(exc)) from exc

        # One fetch per platform; a platform failing does not stop the others: landing runs
        # when they are all done, and page completeness is a validation rule.
        @task(retries=1, retry_delay=timedelta(minutes=1))
        def fetch(platform: str) -> str:
            run = _run_context()
            if not connectors.configure(platform):
                raise AirflowSkipException(f"{platform}: no token configured, nothing fetched")
            try:
                report = connectors.fetch(run, platform)
            except RegistryError as exc:
                raise AirflowFailException(str(exc)) from exc
            if not report.ok:
                raise AirflowFailException(report.summary())
            return report.summary()

        @task(pool=WAREHOUSE_POOL, trigger_rule=TriggerRule.ALL_DONE, **TRANSIENT_RETRIES)
        def land() -> dict[str, Any]:
            run = _run_context()
            if run is None:
                raise AirflowFailException("the run did not start (see the start task)")
            try:
                return pipeline.land(run)
            except (RegistryError, FileNotFoundError) as exc:
                _failing(run, "land", exc)
                raise AirflowFailException(str(exc)) from exc  # a retry would not help
            except Exception as exc:
                _failing(run, "land", exc)
                raise

        def validation_task(stage: str):  # noqa: ANN202
            @task(task_id=f"validate_{stage}")
            def validate() -> str:
                run = _run_context()
                try:
                    return pipeline.validate(run, stage)
                except pipeline.ValidationFailed as exc:
                    _failing(run, f"validate_{stage}", exc)
                    raise AirflowFailException(str(exc)) from exc

            return validate()

        @task(pool=WAREHOUSE_POOL, **TRANSIENT_RETRIES)
        def publish() -> dict[str, Any]:
            run = _run_context()
            try:
                return pipeline.publish(run)
            except Exception as exc:
                _failing(run, "publish", exc)
                raise

        transform = _dbt_step("dbt_transform", ["path:models/staging", "path:models/intermediate"])
        marts = _dbt_step("dbt_marts", ["path:models/marts"])
        started = start()
        (
            started
            >> fetch.expand(platform=list(PLATFORMS))
            >> land()
            >> validation_task("raw")
            >> transform
            >> validation_task("candidates")
            >> marts
            >> publish()
        )

    return weekly_ratings()
