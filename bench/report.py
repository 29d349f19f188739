"""The benchmark's outputs: the table on the terminal, a JSON file and a PNG chart."""

import json
from pathlib import Path
from typing import Any

from bench import login_flood

Row = dict[str, Any]


def _ratio_cell(row: Row) -> str:
    ratio = row.get("ratio")
    return "" if ratio is None else f"{ratio:.3f}"


def _floor_cell(row: Row) -> str:
    floor = row.get("floor")
    if floor is None:
        return ""
    verdict = "met" if row["ratio"] >= floor else "UNMET"
    aim = row.get("aim")
    return f">= {floor:.2f} {verdict}" + (f" (aim {aim:.2f})" if aim else "")


def format_table(results: dict[str, Any]) -> str:
    headers = ["endpoint", "conns", "req/s", "p50 ms", "p99 ms", "x baseline", "floor"]
    rows = [
        [
            row["label"],
            str(row["connections"]),
            f"{row['rps']:.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            _ratio_cell(row),
            _floor_cell(row),
        ]
        for row in results["rows"]
    ]
    widths = [max(len(line[i]) for line in [headers, *rows]) for i in range(len(headers))]

    def render(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i in (0, 6) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [render(headers), render(["-" * width for width in widths])]
    lines += [render(cells) for cells in rows]

    logins = results["logins"]
    interference = results["login_interference"]
    server = results["server"]
    lines += [
        "",
        f"baseline req/s: {' and '.join(f'{rps:.0f}' for rps in results['baseline_runs'])}"
        f" (before and after; ratios use their mean, {results['baseline_rps']:.0f})",
        f"server: one uvicorn worker, {server['loop']} + {server['http']}, access log off, "
        f"DB_POOL_SIZE={server['db_pool_size']} (DB_MAX_OVERFLOW={server['db_max_overflow']})",
    ]
    if not logins.get("skipped"):
        lines.append(
            f"logins/s: {logins['per_s']:.2f} vs target {logins['target_per_s']:.2f} "
            f"(80 % of {logins['cpus']} cores / {logins['hash_s'] * 1000:.0f} ms, one bcrypt hash "
            f"at cost {logins['bcrypt_rounds']}, timed around the login run): "
            f"{'met' if logins['met'] else 'UNMET'}"
        )
    if not interference.get("skipped"):
        lines.append(
            f"GET /orders/{{id}} p99 while {interference['login_clients']} clients log in: "
            f"{interference['p99_with_logins_ms']:.1f} ms vs {interference['p99_alone_ms']:.1f} ms "
            f"alone = {interference['factor']:.2f}x (limit {interference['limit']:g}x): "
            f"{'met' if interference['met'] else 'UNMET'}"
        )
    if "login_flood" in results:
        lines += login_flood.summary_lines(results["login_flood"])
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n")


def write_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    # Throughput rows only: the baseline is the unit, and logins are bounded by bcrypt.
    rows = [row for row in results["rows"] if row["key"] not in ("baseline", "login")]
    labels = [row["label"].replace(" (", "\n(") for row in rows]
    positions = list(range(len(rows)))
    figure, (ratio_axis, latency_axis) = plt.subplots(
        1, 2, figsize=(13, 5.6), gridspec_kw={"width_ratios": [1.2, 1]}
    )
    colours = [
        "#999999" if row.get("floor") is None else "#2a9d8f" if row["met"] else "#e76f51"
        for row in rows
    ]
    ratio_axis.barh(positions, [row["ratio"] for row in rows], color=colours)
    for position, row in zip(positions, rows, strict=True):
        floor = row.get("floor")
        if floor is not None:
            ratio_axis.plot([floor] * 2, [position - 0.4, position + 0.4], color="black", lw=2)
        ratio_axis.text(
            max(row["ratio"], floor or 0), position, f"  {row['ratio']:.3f}", va="center"
        )
    ratio_axis.set_yticks(positions, labels, fontsize=9)
    ratio_axis.invert_yaxis()
    ratio_axis.set_xlim(0, max([0.35, *(row["ratio"] * 1.25 for row in rows)]))
    ratio_axis.set_xlabel("req/s as a multiple of the baseline's (black tick: the floor)")
    ratio_axis.set_title(f"throughput (baseline: {results['baseline_rps']:.0f} req/s = 1)")

    height = 0.38
    latency_axis.barh(
        [p - height / 2 for p in positions], [row["p50_ms"] for row in rows], height, label="p50"
    )
    latency_axis.barh(
        [p + height / 2 for p in positions], [row["p99_ms"] for row in rows], height, label="p99"
    )
    latency_axis.set_yticks(positions, [""] * len(rows))
    latency_axis.invert_yaxis()
    latency_axis.set_xscale("log")
    latency_axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    latency_axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    latency_axis.xaxis.set_minor_formatter(ticker.NullFormatter())
    latency_axis.set_xlabel("latency, ms (log scale)")
    latency_axis.set_title(f"latency at {results['settings']['connections']} connections")
    latency_axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)

    settings = results["settings"]
    figure.suptitle(
        f"Orders API benchmark: {results['backend']}, one uvicorn worker, {results['cpus']} cores, "
        f"{settings['duration_s']:g} s per endpoint, {results['started_at'][:16]} UTC",
        fontsize=11,
    )
    notes = [
        f"baseline (minimal FastAPI app, same server options): {results['baseline_rps']:.0f} req/s"
    ]
    logins, interference = results["logins"], results["login_interference"]
    if not logins.get("skipped"):
        notes.append(f"logins: {logins['per_s']:.2f}/s (target {logins['target_per_s']:.2f}/s)")
    if not interference.get("skipped"):
        notes.append(
            f"GET /orders/{{id}} p99 with {interference['login_clients']} clients logging in: "
            f"{interference['factor']:.2f}x alone (limit {interference['limit']:g}x)"
        )
    figure.text(0.01, 0.01, ";  ".join(notes), fontsize=8.5, color="#444444")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
