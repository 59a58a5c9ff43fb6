"""What bench/scores.py prints: the median of its runs, beside the targets of issue 12."""

from __future__ import annotations

import statistics


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(runs: list[dict]) -> None:
    r = {
        k: (_median(runs, k) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
        for k, v in runs[0].items()
        if v is not None
    }
    share = r["ingest_rate"] / r["ceiling_rate"]
    ceiling = "COPY" if r["db"] == "postgres" else "plain bulk insert (executemany)"
    print(f"\n== {r['db']} == (median of {len(runs)} run{'s' if len(runs) > 1 else ''})")
    for i, x in enumerate(runs, 1):
        print(
            f"  run {i}: ingest {x['ingest_rate']:,.0f} events/s, ceiling {x['ceiling_rate']:,.0f} rows/s "
            f"= {x['ingest_rate'] / x['ceiling_rate']:.0%}; /积分 p99 {x['score_p99_ms']:.1f} ms; "
            f"/排行 province {x['rank_province_ms']:.0f} ms"
        )
    print(f"teachers imported in {r['teacher_import_s']:.1f} s")
    print(
        f"ingestion: {r['events']:,.0f} events, {r['ingest_rate']:,.0f} events/s ({ceiling}, same rows, "
        f"un-indexed table: {r['ceiling_rate']:,.0f} rows/s) = {share:.0%} of the ceiling  "
        f"[target >= 40%: {'ok' if share >= 0.4 else 'MISSED'}]"
    )
    bound = r["bound_rate"] / r["ceiling_rate"]
    print(
        f"  storage bound: the same rows into a copy of score_events (its primary key, the unique event key; "
        f"nothing else): {r['bound_rate']:,.0f} rows/s = {bound:.0%} of the ceiling"
    )
    log, read = r["floor_log_rate"] / r["ceiling_rate"], r["floor_read_rate"] / r["ceiling_rate"]
    print(
        f"  floor: those rows plus the batch's totals as one un-indexed log row per teacher scored (no fold, "
        f"no county histogram): {log:.0%} of the ceiling; plus reading each item's fields and time in Python, "
        f"checking nothing: {read:.0%}"
    )
    if read < 0.4:
        print(
            "  -> below 40% before any validation, scoring or fold: out of reach for an ingester that keeps "
            "the unique key and durable totals and reads its items in Python, on this machine"
        )
    split = ", ".join(f"{k[6:]} {v:.0%}" for k, v in r.items() if k.startswith("stage_"))
    print(
        f"  {r['teachers_per_event']:.2f} teacher totals rows per event; share of ingestion time: {split}, "
        "the rest the engine, grouping and storing the events"
    )
    if r.get("insert_rate"):
        print(f"  (for information: executemany INSERT of the same rows, un-indexed: {r['insert_rate']:,.0f} rows/s)")
    print(
        f"/积分: p50 {r['score_p50_ms']:.1f} ms, p99 {r['score_p99_ms']:.1f} ms  "
        f"[target p99 <= 5 ms: {'ok' if r['score_p99_ms'] <= 5 else 'MISSED'}]"
    )
    print(
        f"  right after the load, before the database settled ({r['settle_s']:.1f} s): "
        f"p50 {r['score_fresh_p50_ms']:.1f} ms, p99 {r['score_fresh_p99_ms']:.1f} ms"
    )
    print(
        f"/排行 city: {r['rank_city_ms']:.0f} ms ({r['rank_city_counties']:.0f} counties); province: "
        f"{r['rank_province_ms']:.0f} ms ({r['rank_province_counties']:.0f} counties)  "
        f"[target province < 100 ms: {'ok' if r['rank_province_ms'] < 100 else 'MISSED'}]"
    )
    print(
        f"ingestion state cache: {r['state_cache_teachers']:,.0f} teachers, {r['state_cache_mb']:.1f} MB "
        f"({r['state_cache_mb'] * 1e6 / max(1, r['state_cache_teachers']):.0f} bytes a teacher)"
    )
    size = f"; database file {r['db_mb']:.0f} MB" if "db_mb" in r else ""
    print(f"peak memory (RSS) {r['rss_peak_mb']:.0f} MB{size}")
