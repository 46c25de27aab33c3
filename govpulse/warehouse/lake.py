"""The DuckLake backend: a warehouse whose catalog is a PostgreSQL database and whose data are
Parquet files in a shared folder or on S3 (CONTRACTS §1, docs/scale-out.md "Lake layout").

`--warehouse ducklake:postgres:<libpq conninfo>` names the lake. Every territory gets its own
DuckLake catalog in that database (its own PostgreSQL schema, METADATA_SCHEMA) and its own data
folder, attached as `lake`: the pipeline's SQL names (raw.*, ops.*, marts.*) stay as they are,
and a connection attached for one territory cannot name another's tables.

The conninfo may hold a password, and DuckDB repeats the conninfo in its error messages: every
message raised from here goes through `redact`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb

from govpulse.settings import (
    LAKE_DATA_PATH_ENV,
    S3_ENDPOINT_ENV,
    aws_env,
    lake_data_path,
    memory_limit,
    s3_endpoint,
)
from govpulse.warehouse import extensions
from govpulse.warehouse.sql import ident, literal

LAKE_PREFIX = "ducklake:postgres:"
ALIAS = "lake"
SECRET_NAME = "govpulse_lake_s3"
# territory ids are slugs (CONTRACTS §2a); anything else could escape its folder or schema
TERRITORY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
HIDDEN = "***"


class LakeError(RuntimeError):
    """The lake cannot be used as configured; the message says what to fix (never a password)."""


def is_lake(target: str | os.PathLike[str]) -> bool:
    """Whether a --warehouse / GOVPULSE_WAREHOUSE value names a lake rather than a DuckDB file."""
    return str(target).strip().startswith(LAKE_PREFIX)


def conninfo_of(target: str) -> str:
    """The libpq conninfo of a lake target (`ducklake:postgres:<conninfo>`)."""
    if not is_lake(target):
        raise LakeError(f"{redact(target)!r} is not a lake: write {LAKE_PREFIX}<libpq conninfo>, "
                        f"e.g. {LAKE_PREFIX}dbname=lake host=127.0.0.1 user=govpulse")
    return target.strip()[len(LAKE_PREFIX):]


# ---- the password never leaves this module ------------------------------------------------

# libpq keyword form: password=secret, password = 'it''s \' quoted'
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.|'')*'|[^\s'\"]+)", re.I)
# URI form: postgresql://user:secret@host, and ?password=secret
_URI_PASSWORD = re.compile(r"(\w+://[^:/?#@\s]*:)([^@\s]*)(@)")
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&\s]*)", re.I)


def redact(text: str, *secrets: str) -> str:
    """`text` with every password (keyword and URI forms, and each of `secrets`) replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + HIDDEN, text)
    text = _URI_PASSWORD.sub(lambda m: m.group(1) + HIDDEN + m.group(3), text)
    return _QUERY_PASSWORD.sub(lambda m: m.group(1) + HIDDEN, text)


def conninfo_fields(conninfo: str) -> dict[str, str]:
    """The keywords of a libpq conninfo, keyword/value or URI form (for messages and checks)."""
    conninfo = conninfo.strip()
    if re.match(r"^postgres(ql)?://", conninfo):
        url = urlsplit(conninfo)
        fields = {"host": url.hostname or "", "port": str(url.port or ""),
                  "dbname": unquote(url.path.lstrip("/")), "user": unquote(url.username or ""),
                  "password": unquote(url.password or "")}
        for pair in url.query.split("&"):
            key, _, value = pair.partition("=")
            if key:
                fields[key] = unquote(value)
        return {k: v for k, v in fields.items() if v}
    fields = {}
    for match in re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", conninfo):
        value = match.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        fields[match.group(1)] = value
    return fields


def describe(conninfo: str) -> str:
    """Where a catalog is, for people: database, host, port and user, never the password."""
    fields = conninfo_fields(conninfo)
    return (f"PostgreSQL database {fields.get('dbname', '(default)')!r} on "
            f"{fields.get('host', 'localhost')}:{fields.get('port', '5432')} as user "
            f"{fields.get('user', '(default)')!r}")


# ---- where a territory's tables live ------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """One territory's part of the lake: its catalog's PostgreSQL schema and its data folder."""

    territory_id: str
    metadata_schema: str
    data_path: str


def layout(territory_id: str, data_path: str | None = None) -> Layout:
    """The territory's catalog schema (`lake_<id>`) and data folder (`<data path>/<id>/`)."""
    if not TERRITORY_ID.match(territory_id):
        raise LakeError(f"territory id {territory_id!r} cannot name a lake catalog: use lower-case "
                        "letters, digits, '-' and '_' (at most 48)")
    base = (data_path or lake_data_path()).strip()
    if not base:
        raise LakeError(f"{LAKE_DATA_PATH_ENV} is not set: the lake needs a folder every worker "
                        "reaches (a shared path) or s3://bucket/prefix for its Parquet files")
    if is_s3(base):
        folder = base.rstrip("/") + f"/{territory_id}/"
    else:
        folder = str(Path(base).expanduser().resolve() / territory_id) + "/"
    return Layout(territory_id, f"lake_{territory_id}", folder)


def is_s3(data_path: str) -> bool:
    return data_path.startswith("s3://")


def s3_options(data_path: str) -> dict[str, str]:
    """How DuckDB reaches the data path's bucket, from the AWS variables and
    GOVPULSE_S3_ENDPOINT (path-style URLs and TLS from its scheme; AWS itself when unset)."""
    found = aws_env()
    missing = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
               if name not in found]
    if missing:
        raise LakeError(f"the lake's data are on S3 ({data_path}) but {' and '.join(missing)} "
                        f"{'is' if len(missing) == 1 else 'are'} not set")
    options = {"key_id": found["AWS_ACCESS_KEY_ID"], "secret": found["AWS_SECRET_ACCESS_KEY"],
               "region": found.get("AWS_REGION", "us-east-1"), "endpoint": "s3.amazonaws.com",
               "url_style": "vhost", "use_ssl": "true"}
    if "AWS_SESSION_TOKEN" in found:
        options["session_token"] = found["AWS_SESSION_TOKEN"]
    endpoint = s3_endpoint()
    if endpoint:
        url = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise LakeError(f"{S3_ENDPOINT_ENV}={endpoint!r} is not an http(s)://host:port URL")
        options |= {"endpoint": url.netloc, "url_style": "path",
                    "use_ssl": "true" if url.scheme == "https" else "false"}
    return options


def s3_secret_sql(data_path: str) -> str:
    """CREATE SECRET for the data path's bucket (s3_options). Holds the secret key: run it,
    never log it."""
    options = {key: literal(value) for key, value in s3_options(data_path).items()}
    options["use_ssl"] = options["use_ssl"].strip("'")  # a boolean, not a string
    options["scope"] = literal("s3://" + urlsplit(data_path).netloc)
    body = ", ".join(f"{key.upper()} {value}" for key, value in options.items())
    return f"CREATE OR REPLACE SECRET {SECRET_NAME} (TYPE s3, {body})"


def without_password(conninfo: str) -> str:
    """The conninfo minus its password (for dbt, which gets it in PGPASSWORD instead)."""
    conninfo = _KEYWORD_PASSWORD.sub("", conninfo)
    conninfo = _URI_PASSWORD.sub(lambda m: m.group(1).removesuffix(":") + m.group(3), conninfo)
    conninfo = _QUERY_PASSWORD.sub(lambda m: m.group(1)[0], conninfo)
    return " ".join(conninfo.split()) if "://" not in conninfo else conninfo


def dbt_env(target: str, territory_id: str, data_path: str | None = None) -> dict[str, str]:
    """Every variable the `lake` target of dbt_project/profiles.yml reads, for one territory.
    The password moves from the conninfo to PGPASSWORD (libpq reads it; dbt never prints it),
    the S3 secret key to DBT_ENV_SECRET_AWS_SECRET_ACCESS_KEY (dbt scrubs those from logs).
    All are set even off S3: dbt re-parses the project when a profile variable is unset."""
    conninfo = conninfo_of(target)
    where = layout(territory_id, data_path)
    s3 = (s3_options(where.data_path) if is_s3(where.data_path) else
          {"key_id": "", "secret": "", "region": "us-east-1", "endpoint": "s3.amazonaws.com",
           "url_style": "vhost", "use_ssl": "true", "session_token": ""})
    found = {
        "GOVPULSE_WAREHOUSE": LAKE_PREFIX + without_password(conninfo),
        "GOVPULSE_DUCKDB_EXTENSION_DIR": str(extensions.ensure_installed()),
        "GOVPULSE_LAKE_TERRITORY_DATA_PATH": where.data_path,
        "GOVPULSE_LAKE_METADATA_SCHEMA": where.metadata_schema,
        "GOVPULSE_LAKE_S3_ENDPOINT": s3["endpoint"],
        "GOVPULSE_LAKE_S3_URL_STYLE": s3["url_style"],
        "GOVPULSE_LAKE_S3_USE_SSL": s3["use_ssl"],
        "GOVPULSE_LAKE_S3_REGION": s3["region"],
        "GOVPULSE_LAKE_S3_KEY_ID": s3["key_id"],
        "DBT_ENV_SECRET_AWS_SECRET_ACCESS_KEY": s3["secret"],
        "DBT_ENV_SECRET_AWS_SESSION_TOKEN": s3.get("session_token", ""),
    }
    password = conninfo_fields(conninfo).get("password")
    if password:
        found["PGPASSWORD"] = password
    return found


# ---- attaching -----------------------------------------------------------------------------

def attach(con: duckdb.DuckDBPyConnection, target: str, territory_id: str,
           data_path: str | None = None, alias: str = ALIAS) -> Layout:
    """ATTACH the territory's catalog of the lake `target` as `alias` (new catalogs are created
    on first use); loads the extensions (installed offline) and, for s3:// data, the secret."""
    conninfo = conninfo_of(target)
    where = layout(territory_id, data_path)
    # httpfs only for s3://: loading an extension costs about 0.4 s per connection
    if is_s3(where.data_path):
        extensions.load(con, "ducklake", "postgres_scanner", "httpfs")
        con.execute(s3_secret_sql(where.data_path))
    else:
        extensions.load(con, "ducklake", "postgres_scanner")
    try:
        con.execute(f"ATTACH {literal(target.strip())} AS {ident(alias)} "
                    f"(DATA_PATH {literal(where.data_path)}, "
                    f"METADATA_SCHEMA {literal(where.metadata_schema)})")
    except duckdb.Error as exc:
        # from None: the original exception repeats the conninfo, password included
        raise LakeError(_attach_failure(str(exc), conninfo, territory_id, where)) from None
    return where


def _attach_failure(error: str, conninfo: str, territory_id: str, where: Layout) -> str:
    """What to fix when ATTACH failed, in words, without the password."""
    said = redact(error, conninfo_fields(conninfo).get("password", ""))
    head = f"cannot attach territory {territory_id!r}'s lake catalog ({describe(conninfo)})"
    if "does not match existing data path" in error:
        return (f"{head}: it was created with another data path than {where.data_path}; "
                f"{LAKE_DATA_PATH_ENV} must stay the same for a lake ({said})")
    if "Unable to connect" in error or "connection to server" in error:
        return (f"{head}: PostgreSQL did not accept the connection. Check that it runs and is "
                "reachable at that host and port, the database exists and the user may log in "
                f"(its password in the conninfo, PGPASSWORD or ~/.pgpass). {said}")
    return f"{head}: {said}"


@contextmanager
def connect(target: str, territory_id: str, data_path: str | None = None,
            timezone: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the territory's catalog attached as `lake` and in
    use, with the warehouse's session settings (memory limit, the territory's zone)."""
    con = duckdb.connect(":memory:", config={**extensions.connection_config(),
                                             "memory_limit": memory_limit()})
    try:
        if timezone:
            con.execute(f"SET TimeZone = {literal(timezone)}")
        attach(con, target, territory_id, data_path)
        con.execute(f"USE {ident(ALIAS)}")
        yield con
    finally:
        con.close()
