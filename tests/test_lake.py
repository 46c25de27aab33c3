"""The DuckLake backend's foundation with the real components on 127.0.0.1: a PostgreSQL catalog
(tests/airflow_services.py), local and s3:// data paths (moto's S3 server), the extensions from
their PyPI wheels, and dbt's `lake` target. docs/scale-out.md "Lake layout"."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import requests

from govpulse.settings import DBT_PROJECT_DIR
from govpulse.warehouse import extensions, lake
from govpulse.warehouse.schema import raw_table_ddl
from tests import airflow_services

VENV_BIN = Path(sys.executable).parent


# ---- no services: the target, the password, the layout ------------------------------------

@pytest.mark.parametrize(("conninfo", "password"), [
    ("dbname=lake host=db port=5432 user=gp password=s3cr3t", "s3cr3t"),
    ("dbname=lake password = 'pw XYZ \\'q\\'' host=db", "XYZ"),
    ("postgresql://gp:s3cr3t@db:5432/lake", "s3cr3t"),
    ("postgresql://gp@db/lake?sslmode=require&password=s3cr3t", "s3cr3t"),
])
def test_the_password_is_redacted_in_every_conninfo_form(conninfo: str, password: str) -> None:
    message = f'Unable to connect to Postgres at "{conninfo}": refused'
    assert password not in lake.redact(message)
    assert lake.HIDDEN in lake.redact(message)
    assert password not in lake.without_password(conninfo)
    assert "host" in lake.without_password(conninfo) or "@db" in lake.without_password(conninfo)
    assert "db" in lake.describe(conninfo) and "lake" in lake.describe(conninfo)
    assert password not in lake.describe(conninfo)
    # a password the caller knows is hidden wherever it appears
    assert lake.redact("token s3cr3t leaked", "s3cr3t") == f"token {lake.HIDDEN} leaked"


def test_conninfo_fields_and_description() -> None:
    fields = lake.conninfo_fields("dbname=lake host=127.0.0.1 port=5544 user=gp "
                                  "password='a b\\'c'")
    assert fields == {"dbname": "lake", "host": "127.0.0.1", "port": "5544", "user": "gp",
                      "password": "a b'c"}
    assert lake.describe("dbname=lake host=10.0.0.5 port=6543 user=gp password=x") == (
        "PostgreSQL database 'lake' on 10.0.0.5:6543 as user 'gp'")
    uri = lake.conninfo_fields("postgresql://gp:p%40ss@db:5433/lake?sslmode=require")
    assert uri == {"host": "db", "port": "5433", "dbname": "lake", "user": "gp",
                   "password": "p@ss", "sslmode": "require"}


def test_lake_targets_and_file_paths_are_told_apart(tmp_path: Path) -> None:
    assert lake.is_lake("ducklake:postgres:dbname=lake host=db")
    assert not lake.is_lake(tmp_path / "warehouse.duckdb")
    assert lake.conninfo_of(" ducklake:postgres:dbname=lake ") == "dbname=lake"
    with pytest.raises(lake.LakeError, match="ducklake:postgres:<libpq conninfo>"):
        lake.conninfo_of(str(tmp_path / "warehouse.duckdb"))


def test_layout_one_catalog_schema_and_folder_per_territory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVPULSE_LAKE_DATA_PATH", raising=False)
    with pytest.raises(lake.LakeError, match="GOVPULSE_LAKE_DATA_PATH is not set"):
        lake.layout("kz")
    monkeypatch.setenv("GOVPULSE_LAKE_DATA_PATH", str(tmp_path))
    assert lake.layout("ru-mari-el") == lake.Layout(
        "ru-mari-el", "lake_ru-mari-el", f"{tmp_path.resolve()}/ru-mari-el/")
    assert lake.layout("kz", "s3://bucket/prefix/").data_path == "s3://bucket/prefix/kz/"
    for bad in ("../kz", "KZ", "", "a b", "kz'"):
        with pytest.raises(lake.LakeError, match="cannot name a lake catalog"):
            lake.layout(bad)


def test_s3_options_from_the_endpoint_and_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "GOVPULSE_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(lake.LakeError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are"):
        lake.s3_options("s3://bucket/lake")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert lake.s3_options("s3://bucket/lake")["endpoint"] == "s3.amazonaws.com"
    monkeypatch.setenv("GOVPULSE_S3_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    options = lake.s3_options("s3://bucket/lake")
    assert (options["endpoint"], options["url_style"], options["use_ssl"], options["region"]) == (
        "127.0.0.1:9000", "path", "false", "eu-central-1")
    assert "SCOPE 's3://bucket'" in lake.s3_secret_sql("s3://bucket/lake")
    monkeypatch.setenv("GOVPULSE_S3_ENDPOINT", "ftp://store")
    with pytest.raises(lake.LakeError, match="GOVPULSE_S3_ENDPOINT"):
        lake.s3_options("s3://bucket/lake")


# ---- the extensions -----------------------------------------------------------------------

INSTALLER = ("import sys; from pathlib import Path; from govpulse.warehouse import extensions; "
             "print(extensions.ensure_installed(Path(sys.argv[1])))")


def test_extensions_install_offline_idempotently_and_concurrently(tmp_path: Path) -> None:
    directory = tmp_path / "ext"
    started = [subprocess.Popen([sys.executable, "-c", INSTALLER, str(directory)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    outputs = [proc.communicate(timeout=120) for proc in started]
    assert [proc.returncode for proc in started] == [0, 0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {str(directory.resolve())}
    files = {name: extensions.installed_file(directory.resolve(), name)
             for name in extensions.EXTENSIONS}
    stamps = {name: path.stat().st_mtime_ns for name, path in files.items()}
    extensions.ensure_installed(directory)  # already there: nothing rewritten
    assert {name: path.stat().st_mtime_ns for name, path in files.items()} == stamps
    assert not list(directory.glob(".installing-*"))
    con = duckdb.connect(config=extensions.connection_config(directory))
    with contextlib.closing(con):
        extensions.load(con, directory=directory)
        loaded = {row[0] for row in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}
        assert set(extensions.EXTENSIONS) <= loaded
        assert con.execute("SELECT current_setting('autoinstall_known_extensions')"
                           ).fetchone() == (False,)


def test_a_missing_wheel_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setitem(extensions.EXTENSIONS, "spatial", "duckdb-extension-spatial")
    with pytest.raises(extensions.ExtensionMissing, match="duckdb-extension-spatial==1.5.5"):
        extensions.ensure_installed(tmp_path / "ext")
    assert not list((tmp_path / "ext").glob("v*"))  # nothing half-installed


# ---- a real catalog -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog(postgres_bin: Path) -> Iterator[str]:
    """A lake target on a fresh PostgreSQL on 127.0.0.1, with a password in its conninfo."""
    processes = airflow_services.Processes(Path(tempfile.mkdtemp(prefix="govpulse-lake-logs-")))
    with airflow_services.postgres(postgres_bin, processes) as db:
        yield (f"{lake.LAKE_PREFIX}dbname={db.name} host=127.0.0.1 port={db.port} "
               f"user={db.user} password={db.password}")


def test_attach_create_append_read_and_travel_in_time(catalog: str, tmp_path: Path) -> None:
    with lake.connect(catalog, "kz", str(tmp_path), timezone="Asia/Almaty") as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.mentions (id INTEGER, text VARCHAR)")
        for batch in range(3):
            con.execute("INSERT INTO raw.mentions SELECT i, 'm' || i FROM range(?, ?) t(i)",
                        [batch * 100, batch * 100 + 100])
        assert con.execute("SELECT count(*) FROM raw.mentions").fetchone() == (300,)
        snapshots = con.execute("SELECT snapshot_id FROM ducklake_snapshots('lake') "
                                "ORDER BY snapshot_id").fetchall()
        after_first = snapshots[-3][0]
        assert con.execute("SELECT count(*) FROM raw.mentions AT (VERSION => ?)",
                           [after_first]).fetchone() == (100,)
    assert list((tmp_path / "kz").rglob("*.parquet"))  # 100-row inserts are files, not inlined
    # another connection (as another process would) sees what was committed
    with lake.connect(catalog, "kz", str(tmp_path)) as con:
        assert con.execute("SELECT max(id) FROM raw.mentions").fetchone() == (299,)
    # a catalog keeps the data path it was created with: a different one is refused
    with pytest.raises(lake.LakeError, match=f"{lake.LAKE_DATA_PATH_ENV} must stay"), \
            lake.connect(catalog, "kz", str(tmp_path / "elsewhere")):
        pass


APPENDER = textwrap.dedent("""
    import os, sys
    from govpulse.warehouse import lake
    with lake.connect(os.environ["LAKE_TARGET"], "appends", sys.argv[1]) as con:
        for i in range(int(sys.argv[2])):
            # a literal, not a parameter: binding one imports pandas (4 s a process)
            con.execute(f"INSERT INTO raw.shards SELECT '{sys.argv[3]}', n FROM range(50) t(n)")
""")


def test_two_processes_append_at_once_and_both_commit(catalog: str, tmp_path: Path) -> None:
    with lake.connect(catalog, "appends", str(tmp_path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("CREATE TABLE raw.shards (shard VARCHAR, n BIGINT)")  # set up beforehand
    # the target (password included) goes through the environment, never the command line
    env = {**os.environ, "LAKE_TARGET": catalog}
    started = [subprocess.Popen([sys.executable, "-c", APPENDER, str(tmp_path), "15", shard],
                                env=env, stderr=subprocess.PIPE, text=True)
               for shard in ("a", "b")]
    for proc in started:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    with lake.connect(catalog, "appends", str(tmp_path)) as con:
        assert con.execute("SELECT shard, count(*) FROM raw.shards GROUP BY 1 ORDER BY 1"
                           ).fetchall() == [("a", 750), ("b", 750)]


def test_territories_share_the_lake_and_never_see_each_other(catalog: str,
                                                             tmp_path: Path) -> None:
    for territory, rows in (("kz-2", 3), ("ru-mari-el", 5)):
        with lake.connect(catalog, territory, str(tmp_path)) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute("CREATE TABLE marts.people AS SELECT ? AS territory, i FROM range(?) t(i)",
                        [territory, rows])
            con.execute(f"CREATE TABLE marts.only_{territory.replace('-', '_')} AS SELECT 1 AS x")
    with lake.connect(catalog, "kz-2", str(tmp_path)) as con:
        assert con.execute("SELECT territory, count(*) FROM marts.people GROUP BY 1"
                           ).fetchall() == [("kz-2", 3)]
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM marts.only_ru_mari_el")
        # the other territory's snapshots are not in this catalog either
        changes = " ".join(str(row) for row in con.execute(
            "SELECT changes FROM ducklake_snapshots('lake')").fetchall())
        assert "only_ru_mari_el" not in changes
    with lake.connect(catalog, "ru-mari-el", str(tmp_path)) as con:
        assert con.execute("SELECT DISTINCT territory FROM marts.people").fetchall() == [
            ("ru-mari-el",)]
    assert {p.name for p in tmp_path.iterdir()} >= {"kz-2", "ru-mari-el"}


def test_an_unreachable_catalog_is_named_without_its_password(tmp_path: Path) -> None:
    port = airflow_services.free_port()  # nothing listens there
    target = (f"{lake.LAKE_PREFIX}dbname=lakedb host=127.0.0.1 port={port} user=gp "
              "password=Never-Shown-42")
    con = duckdb.connect(config=extensions.connection_config())
    with contextlib.closing(con), pytest.raises(lake.LakeError) as raised:
        lake.attach(con, target, "kz", str(tmp_path))
    message = str(raised.value)
    assert f"'lakedb' on 127.0.0.1:{port}" in message
    assert "Never-Shown-42" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# ---- s3:// on moto's S3 server ------------------------------------------------------------

@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    port = airflow_services.free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.put(f"{url}/govpulse-lake", timeout=2).ok:  # create the bucket
                    break
            assert server.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("GOVPULSE_S3_ENDPOINT", url)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_data_on_s3_through_httpfs(catalog: str, s3_endpoint: str) -> None:
    with lake.connect(catalog, "s3-kz", "s3://govpulse-lake/lake") as con:
        con.execute("CREATE TABLE main.big AS SELECT i FROM range(1000) t(i)")
        con.execute("INSERT INTO main.big SELECT i FROM range(1000, 1500) t(i)")
        assert con.execute("SELECT count(*), max(i) FROM main.big").fetchone() == (1500, 1499)
        files = con.execute("SELECT data_file FROM ducklake_list_files('lake', 'big')").fetchall()
    listing = requests.get(f"{s3_endpoint}/govpulse-lake?list-type=2&prefix=lake/s3-kz/",
                           timeout=10).text
    assert len(files) == 2 and listing.count(".parquet</Key>") == 2
    assert all(str(row[0]).startswith("s3://govpulse-lake/lake/s3-kz/") for row in files)


# ---- dbt's lake target ---------------------------------------------------------------------

def test_dbt_runs_a_staging_model_on_the_lake_target(catalog: str, tmp_path: Path) -> None:
    with lake.connect(catalog, "dbt-kz", str(tmp_path / "data")) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(raw_table_ddl("fakes"))
        con.execute("INSERT INTO raw.fakes (fake_id, body_id, claim, _load_id, _line) "
                    "VALUES ('f1', 'B1', 'a claim', 1, 1), ('f2', 'B2', 'another', 1, 2)")
    env = {**os.environ, **lake.dbt_env(catalog, "dbt-kz", str(tmp_path / "data")),
           "DO_NOT_TRACK": "1"}
    password = lake.conninfo_fields(lake.conninfo_of(catalog))["password"]
    assert password not in env["GOVPULSE_WAREHOUSE"] and env["PGPASSWORD"] == password
    result = subprocess.run(
        [str(VENV_BIN / "dbt"), "run", "--target", "lake", "--select", "stg_inbox__fakes",
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env=env, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    logged = result.stdout + "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert password not in logged
    with lake.connect(catalog, "dbt-kz", str(tmp_path / "data")) as con:
        assert con.execute("SELECT fake_id, claim FROM staging.stg_inbox__fakes ORDER BY 1"
                           ).fetchall() == [("f1", "a claim"), ("f2", "another")]
