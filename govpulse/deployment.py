"""The territories one deployment serves (CONTRACTS §2a).

Without `GOVPULSE_TERRITORIES` a deployment serves one territory, the registry of
`GOVPULSE_REGISTRY` (or `--registry`), with the paths it always had. With it, the variable names
a folder holding one registry folder per territory, and each territory gets its own inbox,
private warehouse and published folder under the usual bases, named by its `territory_id`:

    <GOVPULSE_INBOX>/<territory_id>/<dataset>/…
    <folder of GOVPULSE_WAREHOUSE>/<territory_id>/warehouse.duckdb
    <GOVPULSE_PUBLISH_DIR>/<territory_id>/warehouse.duckdb

so one territory's run, failure or re-run never touches another's files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from govpulse import ratings, settings
from govpulse.settings import Paths
from govpulse.territory import Territory, load_territory

TERRITORIES_ENV = "GOVPULSE_TERRITORIES"
# What makes a folder a registry: the territory settings or the one registry file it must have.
REGISTRY_MARKERS = ("territory.yml", "entities.csv")


# The rating DAG of each run kind; a territory of GOVPULSE_TERRITORIES prefixes its id.
DAG_IDS = {"weekly": "weekly_ratings", "monthly": "monthly_incidents",
           "annual": "annual_ratings"}


def dag_id(kind: str, territory_id: str | None = None) -> str:
    """`weekly_ratings`, or `ru-mari-el__monthly_incidents` for a territory of a deployment
    that serves several."""
    return f"{territory_id}__{DAG_IDS[kind]}" if territory_id else DAG_IDS[kind]


class DeploymentError(ValueError):
    """GOVPULSE_TERRITORIES (or a --territory) that cannot be used; the message says why."""


@dataclass(frozen=True)
class DeployedTerritory:
    territory: Territory
    registry: Path

    @property
    def territory_id(self) -> str:
        return self.territory.territory_id

    def paths(self, inbox: str | Path | None = None, registry: str | Path | None = None,
              warehouse: str | Path | None = None,
              publish_dir: str | Path | None = None) -> Paths:
        """The territory's own paths; an explicit value (a DAG param, a CLI option) wins."""
        base = Paths.resolve(registry=self.registry)
        tid = self.territory_id
        return Paths.resolve(
            inbox=inbox or base.inbox / tid,
            registry=registry or self.registry,
            warehouse=warehouse or base.warehouse.parent / tid / base.warehouse.name,
            publish_dir=publish_dir or base.publish_dir / tid,
        )

    def kinds(self) -> tuple[str, ...]:
        """The run kinds (weekly, monthly, annual) the territory has a rating or report of."""
        return kinds_of(self.territory)


def paths_of(deployed: DeployedTerritory | None, inbox: str | Path | None = None,
             registry: str | Path | None = None, warehouse: str | Path | None = None,
             publish_dir: str | Path | None = None) -> Paths:
    """A run's paths: the explicit ones, then the territory's own (or, in a one-territory
    deployment, the environment's and the defaults)."""
    if deployed is None:
        return Paths.resolve(inbox, registry, warehouse, publish_dir)
    return deployed.paths(inbox, registry, warehouse, publish_dir)


def kinds_of(territory: Territory) -> tuple[str, ...]:
    chosen = {r.kind for name, r in ratings.catalogue().items() if territory.runs(name)}
    if territory.runs("fakes"):
        chosen.add("monthly")  # the fakes report runs with the month's incidents
    return tuple(k for k in ("weekly", "monthly", "annual") if k in chosen)


def territories_dir() -> Path | None:
    """The folder GOVPULSE_TERRITORIES names, or None for a one-territory deployment."""
    value = settings.env(TERRITORIES_ENV)
    return Path(value).expanduser().resolve() if value else None


def configured() -> list[DeployedTerritory] | None:
    """Every territory of GOVPULSE_TERRITORIES, sorted by id; None when it is not set."""
    folder = territories_dir()
    if folder is None:
        return None
    if not folder.is_dir():
        raise DeploymentError(f"{TERRITORIES_ENV}={folder} is not a folder: point it at a "
                              "folder holding one registry folder per territory")
    found = [DeployedTerritory(load_territory(sub), sub)
             for sub in sorted(folder.iterdir())
             if sub.is_dir() and any((sub / m).exists() for m in REGISTRY_MARKERS)]
    if not found:
        raise DeploymentError(f"{TERRITORIES_ENV}={folder} holds no registry folder (a folder "
                              f"with {' or '.join(REGISTRY_MARKERS)})")
    _refuse_duplicates(found)
    return sorted(found, key=lambda t: t.territory_id)


def _refuse_duplicates(found: Iterable[DeployedTerritory]) -> None:
    seen: dict[str, Path] = {}
    for item in found:
        if item.territory_id in seen:
            raise DeploymentError(
                f"territory_id {item.territory_id!r} is used by both {seen[item.territory_id]} "
                f"and {item.registry}: give each territory.yml its own territory_id")
        seen[item.territory_id] = item.registry


def single(registry: str | Path | None = None) -> DeployedTerritory:
    """The one territory of a deployment without GOVPULSE_TERRITORIES (or of --registry)."""
    path = Paths.resolve(registry=registry).registry
    return DeployedTerritory(load_territory(path), path)


def choose(territory_id: str | None = None,
           registry: str | Path | None = None) -> DeployedTerritory | None:
    """The territory a command works on: `--territory ID` among GOVPULSE_TERRITORIES' (or the
    only one there), or the one whose registry is `--registry`. None when the deployment has
    no GOVPULSE_TERRITORIES (a one-territory deployment: the paths it always had)."""
    deployed = configured()
    if deployed is None:
        if territory_id:
            raise DeploymentError(f"--territory {territory_id}: {TERRITORIES_ENV} is not set "
                                  "(set it to the folder of the territories' registries)")
        return None
    if territory_id:
        matches = [t for t in deployed if t.territory_id == territory_id]
    elif registry:
        wanted = Path(registry).expanduser().resolve()
        matches = [t for t in deployed if t.registry == wanted]
    else:
        matches = deployed if len(deployed) == 1 else []
    if len(matches) == 1:
        return matches[0]
    ids = ", ".join(t.territory_id for t in deployed)
    asked = (f"--territory {territory_id} is not" if territory_id else
             f"--registry {registry} is not the registry of" if registry else
             "several territories are configured: choose one with --territory; it must be")
    raise DeploymentError(f"{asked} one of the territories in {territories_dir()} ({ids})")
