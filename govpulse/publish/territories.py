"""`govpulse territories`: the territories a deployment serves, as an operator reads them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from govpulse import deployment
from govpulse.deployment import DeployedTerritory
from govpulse.territory import WEEKDAYS

PERIOD_FORMAT = {"weekly": "week %Y-%m-%d", "monthly": "month %Y-%m", "annual": "year %Y"}


def latest_published(published_file: Path) -> dict[str, tuple[str, int]]:
    """Per run kind, the latest period with a published revision: {kind: (period, revision)}."""
    if not published_file.exists():
        return {}
    try:
        with duckdb.connect(str(published_file), read_only=True) as con:
            rows = con.execute(
                "SELECT kind, period_start, revision_published FROM ops.runs "
                "WHERE revision_published IS NOT NULL "
                "QUALIFY row_number() OVER (PARTITION BY kind "
                "ORDER BY period_start DESC, finished_at DESC) = 1").fetchall()
    except duckdb.Error:  # an old or foreign file: nothing to say about it
        return {}
    return {kind: (start.strftime(PERIOD_FORMAT.get(kind, "%Y-%m-%d")), revision)
            for kind, start, revision in rows}


def describe(territories: Sequence[DeployedTerritory]) -> str:
    """A few lines per territory: zone and week, ratings, DAGs, paths, latest publications."""
    folder = deployment.territories_dir()
    lines = [f"Territories of this deployment ({deployment.TERRITORIES_ENV}={folder}):"
             if folder else "One territory (GOVPULSE_TERRITORIES is not set):"]
    for item in territories:
        t = item.territory
        tid = t.territory_id if folder else None
        paths = item.paths() if folder else deployment.paths_of(None, registry=item.registry)
        published = latest_published(paths.published_file)
        latest = ", ".join(f"{period} (revision {revision})"
                           for kind in ("weekly", "monthly", "annual")
                           if kind in published
                           for period, revision in [published[kind]]) or "nothing yet"
        weeks = (f"weeks from {WEEKDAYS[t.week_starts]}, due {t.deadline:%H:%M}, "
                 if "weekly" in item.kinds() else "")
        lines += [
            f"  {t.territory_id} — {t.name_ru or t.name_kk or t.territory_id}: {t.timezone}, "
            f"{weeks}readers' languages {', '.join(t.languages)}",
            f"    ratings: {', '.join(t.ratings) if t.ratings else 'all whose inputs exist'}",
            f"    DAGs: {', '.join(deployment.dag_id(k, tid) for k in item.kinds())}",
            f"    registry: {item.registry}",
            f"    inbox: {paths.inbox}",
            f"    published: {paths.published_file} — latest: {latest}",
        ]
    return "\n".join(lines)
