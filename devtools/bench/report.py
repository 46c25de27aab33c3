"""The benchmark's tables: absolute numbers, ratios, targets and growth across scales."""

from __future__ import annotations

from typing import Any

MIB = 1024 * 1024
GIB = 1024 * MIB
# issue 6's targets at scale 1 (checked and printed at every scale, binding at 1)
FLOOR_FACTOR = 3.0
PEAK_LIMIT_BYTES = 4 * GIB
DLT_FACTOR = 5.0


def _row(label: str, usage: dict | None, floor: dict | None = None) -> str:
    if not usage:
        return f"  {label:<28}{'—':>9}"
    ratio = ""
    if floor and floor.get("wall_s"):
        ratio = f"{usage['wall_s'] / floor['wall_s']:8.1f}×"
    return (f"  {label:<28}{usage['wall_s']:9.1f}{usage['cpu_s']:9.1f}"
            f"{usage['peak_rss_bytes'] / MIB:11.0f}{ratio}")


def format_scale(scale: dict[str, Any]) -> str:
    gp, peers = scale["govpulse"], scale["peers"]
    floor = peers.get("floor")
    lines = [f"scale {scale['scale']:g}: {scale['mentions']:,} mention rows",
             f"  {'':<28}{'wall s':>9}{'CPU s':>9}{'peak MiB':>11}{'÷ floor':>9}"]
    for name, usage in gp["phases"].items():
        lines.append(_row(f"govpulse {name}", usage, floor))
    lines.append(_row("govpulse phases total", gp["phases_total"], floor))
    if gp["startup_and_orchestration_s"] is not None:
        lines.append(f"  {'Airflow start-up, other tasks':<28}"
                     f"{gp['startup_and_orchestration_s']:9.1f}")
    lines.append(_row("govpulse whole run", gp["whole_run"], floor))
    labels = {"floor": "floor (one DuckDB statement)", "pandas": "pandas peer (rating)",
              "dlt": "dlt peer (landing only)"}
    stopped = scale.get("stopped", {})
    for name, usage in peers.items():
        label = labels.get(name, name) + (" STOPPED" if name in stopped else "")
        lines.append(_row(label, usage, floor))
    if scale["generate"]:
        lines.append(_row("(generating the week)", scale["generate"]))
    lines += [f"  {k}: {v:.2f}{_bound(k, stopped)}" for k, v in scale["ratios"].items()]
    lines += [f"  {name} {why['message']}: unfinished, its numbers are lower bounds"
              for name, why in stopped.items()]
    lines += [f"  {mark} {text}" for mark, text in targets(scale)]
    lines += [f"  FAILED: {f}" for f in scale["failures"]]
    return "\n".join(lines)


def _bound(ratio: str, stopped: dict[str, dict]) -> str:
    """A ratio to a stopped peer is a bound: the peer would have needed more."""
    for peer in stopped:
        if ratio.startswith(f"{peer} /"):
            return " (at least)"
        if ratio.endswith(f"/ {peer}"):
            return " (at most)"
    return ""


def targets(scale: dict[str, Any]) -> list[tuple[str, str]]:
    """(✓ or ✗, what) for each of issue 6's targets that this scale's numbers can check."""
    out: list[tuple[str, str]] = []
    gp, peers = scale["govpulse"], scale["peers"]
    total, whole = gp["phases_total"], gp["whole_run"]

    def check(ok: bool, text: str) -> None:
        out.append(("✓" if ok else "✗", text))

    floor = peers.get("floor")
    if total and floor:
        limit = FLOOR_FACTOR * floor["wall_s"]
        check(total["wall_s"] <= limit,
              f"phases {total['wall_s']:.1f} s within {FLOOR_FACTOR:g}× the floor "
              f"({limit:.1f} s), plus {gp['startup_and_orchestration_s']:.1f} s of Airflow")
    if whole:
        check(whole["peak_rss_bytes"] < PEAK_LIMIT_BYTES,
              f"peak memory {whole['peak_rss_bytes'] / GIB:.2f} GiB under "
              f"{PEAK_LIMIT_BYTES / GIB:g} GiB")
    landing, dlt = gp["phases"].get("landing"), peers.get("dlt")
    stopped = scale.get("stopped", {})
    if landing and dlt:
        at_least = "at least " if "dlt" in stopped else ""
        check(dlt["wall_s"] >= DLT_FACTOR * landing["wall_s"],
              f"landing {at_least}{dlt['wall_s'] / landing['wall_s']:.1f}× faster than dlt "
              f"(target ≥ {DLT_FACTOR:g}×)")
    pandas = peers.get("pandas")
    if pandas and gp["phases"]:
        slowest = max(gp["phases"].items(), key=lambda kv: kv[1]["wall_s"])
        if stopped.get("pandas", {}).get("limit") == "memory":
            check(True, f"every phase finished; the pandas script could not "
                        f"(slowest phase {slowest[0]} {slowest[1]['wall_s']:.1f} s; pandas "
                        f"{stopped['pandas']['message']})")
        else:
            more = "more than " if "pandas" in stopped else ""
            check(slowest[1]["wall_s"] < pandas["wall_s"],
                  f"every phase faster than the pandas script ({more}{pandas['wall_s']:.1f} s; "
                  f"slowest phase {slowest[0]} {slowest[1]['wall_s']:.1f} s)")
    return out


def growth(scales: list[dict[str, Any]]) -> list[str]:
    """Cost per million mention rows at each scale, and how it grew against the data."""
    rows = sorted((s for s in scales if s["mentions"] and s["govpulse"]["phases_total"]),
                  key=lambda s: s["scale"])
    if len(rows) < 2:
        return []
    lines = ["growth (phases total; ×data vs ×time between consecutive scales):"]
    for prev, cur in zip(rows, rows[1:], strict=False):
        data = cur["mentions"] / prev["mentions"]
        took = cur["govpulse"]["phases_total"]["wall_s"] / prev["govpulse"]["phases_total"][
            "wall_s"]
        verdict = "linear or better" if took <= data * 1.1 else "worse than linear"
        lines.append(f"  scale {prev['scale']:g} → {cur['scale']:g}: data ×{data:.1f}, "
                     f"time ×{took:.1f} ({verdict})")
    for s in rows:
        per_m = s["govpulse"]["phases_total"]["wall_s"] / (s["mentions"] / 1e6)
        lines.append(f"  scale {s['scale']:g}: {per_m:.1f} s per million mention rows")
    return lines


def format_report(report: dict[str, Any]) -> str:
    m = report["machine"]
    head = (f"govpulse bench — {report['measured_at']} on {m['cpus']} CPUs, "
            f"{m['memory_bytes'] / GIB:.0f} GiB, {m['platform']}")
    parts = [head, *(format_scale(s) for s in report["scales"])]
    parts += ["\n".join(growth(report["scales"]))] if len(report["scales"]) > 1 else []
    return "\n\n".join(p for p in parts if p)
