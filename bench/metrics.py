"""Benchmark of amnstats.metrics on a SYNTHETIC observation table (bench/synthetic.py).

Prints figures; asserts no times (it does check that amnstats and pandas agree).
  .venv/bin/python bench/metrics.py            # the full run, about ten million rows
  .venv/bin/python bench/metrics.py --small    # a quick run on a tenth of that

1. The work after a click: one page's selection (one series and measure, all areas,
   genders, groups and periods) taken from the table and all its metrics computed.
2. Each metric over the whole table: amnstats against a plain vectorised pandas version
   of the same metric, in the same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

from amnstats.metrics import (  # noqa: E402
    ObsKeys,
    SelectionIndex,
    aggregate_areas,
    area_comparison,
    area_groups,
    gender_split,
    index_to_base,
    page_metrics,
    per_capita,
    rolling_12_months,
    scan_selection,
    target_status,
    year_on_year,
)
from amnstats.metrics.yoy import previous_period_labels  # noqa: E402
from synthetic import SYNTHETIC_LABEL, generate, synthetic_attributes, synthetic_share_parts  # noqa: E402

KEY = ["series", "measure", "gender", "area", "group", "kind", "target_setter"]
CELL_NO_AREA = ["series", "measure", "period", "gender", "group", "kind", "target_setter"]
BASE_YEAR = 2016


# ----------------------------------------------------------------------------- measuring

def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """Peak resident memory of this process since the last reset (VmHWM)."""
    return _status_mb("VmHWM")


def current_mb() -> float:
    """Resident memory of this process now (VmRSS)."""
    return _status_mb("VmRSS")


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
    except OSError:
        pass


def timed(fn, repeat: int = 1):
    """(best wall time in seconds, all times, last result)."""
    times, result = [], None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def calibration_ms() -> float:
    """A fixed single-threaded workload (numpy sort of 10 million floats), to compare runs:
    the machine is shared, and this moves with the load of other processes."""
    data = np.random.default_rng(0).random(10_000_000)
    best, _, _ = timed(lambda: np.sort(data), repeat=3)
    return best * 1000


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPU ({cpu}), {mem / 1024:.0f} GB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, polars {pl.__version__}, pandas {pd.__version__}, "
            f"numpy {np.__version__}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


# ----------------------------------------------------------------------------- pandas baselines
# Plain vectorised pandas: merges and groupbys on the key columns, as one would write it.

def _prev_labels(pdf: pd.DataFrame) -> pd.Series:
    labels = pdf["period"].unique().tolist()
    return pdf["period"].map(dict(zip(labels, previous_period_labels(labels))))


def pd_year_on_year(pdf: pd.DataFrame) -> pd.DataFrame:
    left = pdf.assign(period_prev=_prev_labels(pdf))
    right = pdf[KEY + ["period", "value"]].rename(columns={"period": "period_prev", "value": "value_prev"})
    out = left.merge(right, on=KEY + ["period_prev"], how="left")
    out["change_abs"] = out["value"] - out["value_prev"]
    no_pct = out["unit"].isin(["procent", "procentenheter"]) | (out["value_prev"] == 0)
    out["change_pct"] = (out["change_abs"] / out["value_prev"] * 100).where(~no_pct)
    return out


def pd_gender_split(pdf: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    cell = ["series", "measure", "period", "area", "group", "kind", "target_setter"]
    by_gender = [pdf.loc[pdf["gender"] == g, cell + ["value"]].rename(columns={"value": g})
                 for g in ("kvinnor", "män", "totalt")]
    wide = by_gender[2].merge(by_gender[0], on=cell, how="outer").merge(by_gender[1], on=cell, how="outer")
    wide = wide.merge(attrs[["series", "measure", "is_additive"]], on=["series", "measure"], how="left")
    add = wide["is_additive"].fillna(False).astype(bool)
    wide["gap"] = wide["kvinnor"] - wide["män"]
    base = wide["totalt"].fillna(wide["kvinnor"] + wide["män"])
    wide["women_share"] = (wide["kvinnor"] / base * 100).where(add & (base > 0))
    wide["gender_sum_diff"] = (wide["kvinnor"] + wide["män"] - wide["totalt"]).where(add)
    wide["gender_check"] = np.select(
        [~add, wide["gender_sum_diff"].isna(), wide["gender_sum_diff"].abs() <= 1e-9 * wide["totalt"].abs().clip(1)],
        [None, "incomplete", "ok"], "mismatch")
    return wide


def pd_area_comparison(pdf: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    city = pdf.loc[pdf["area"] == "Stockholm", CELL_NO_AREA + ["value"]].rename(columns={"value": "value_city"})
    out = pdf.merge(city, on=CELL_NO_AREA, how="left")
    out["diff_city"] = out["value"] - out["value_city"]
    lower = out.merge(attrs[["series", "measure", "direction"]], on=["series", "measure"], how="left")["direction"]
    score = np.where(lower.to_numpy() == "lower_is_better", out["value"], -out["value"])
    ranked = (out["area_type"] == "sdo") & out["value"].notna()
    out["score"] = np.where(ranked, score, np.nan)
    out["rank"] = out.groupby(CELL_NO_AREA, observed=True)["score"].rank(method="min")
    return out


def pd_aggregate_areas(pdf: pd.DataFrame, attrs: pd.DataFrame, share_parts: dict) -> pd.DataFrame:
    add = pdf[["series", "measure"]].merge(attrs[["series", "measure", "is_additive"]], how="left")["is_additive"]
    counts_only = pdf[add.fillna(False).to_numpy()]
    out = []
    for name, members in area_groups().items():
        rows = counts_only[counts_only["area"].isin(members)]
        agg = rows.groupby(CELL_NO_AREA, observed=True).agg(
            value_partial=("value", "sum"), n_present=("value", "count")).reset_index()
        agg["value"] = agg["value_partial"].where(agg["n_present"] == len(members))
        out.append(agg.assign(group_name=name))
    counts = pd.concat(out, ignore_index=True)
    shares = []
    for (series, share), (num, den) in share_parts.items():
        keys = [c for c in CELL_NO_AREA if c != "measure"] + ["group_name"]
        a = counts[(counts["series"] == series) & (counts["measure"] == num)][keys + ["value"]]
        b = counts[(counts["series"] == series) & (counts["measure"] == den)][keys + ["value"]]
        s = a.merge(b, on=keys, suffixes=("_num", "_den"))
        s["value"] = s["value_num"] / s["value_den"] * 100
        shares.append(s.assign(measure=share)[keys + ["measure", "value"]])
    return pd.concat([counts, *shares], ignore_index=True)


def pd_target_status(pdf: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    cell = ["series", "measure", "period", "gender", "area", "group"]
    outcome = pdf[pdf["kind"] == "utfall"].drop(columns=["target_setter"])
    targets = pdf.loc[pdf["kind"] == "målvärde", cell + ["target_setter", "value"]].rename(columns={"value": "target"})
    out = outcome.merge(targets, on=cell).merge(attrs[["series", "measure", "direction"]], on=["series", "measure"])
    sign = np.select([out["direction"] == "higher_is_better", out["direction"] == "lower_is_better"], [1, -1], 0)
    gap = out["value"] - out["target"]
    met = sign * gap >= -1e-9 * out["target"].abs().clip(1)
    partly = ~met & (gap.abs() <= 0.05 * out["target"].abs() + 1e-12)
    out["target_status"] = np.select([(sign == 0) | gap.isna(), met, partly], [None, "met", "partly_met"], "missed")
    return out


def pd_index_to_base(pdf: pd.DataFrame) -> pd.DataFrame:
    per_year = pdf["period_type"].map({"year": 1, "tertial": 3, "quarter": 4, "month": 12})
    in_base = (pdf["period_start"].dt.year == BASE_YEAR) & (pdf["period_end"].dt.year == BASE_YEAR)
    base = pdf[in_base].assign(per_year=per_year[in_base]).groupby(KEY + ["period_type"], observed=True).agg(
        base=("value", "mean"), n=("value", "count"), per_year=("per_year", "first")).reset_index()
    base = base[base["n"] == base["per_year"]]
    out = pdf.merge(base[KEY + ["period_type", "base"]], on=KEY + ["period_type"], how="left")
    out["index"] = out["value"] / out["base"] * 100
    return out


def pd_rolling_12_months(pdf: pd.DataFrame) -> pd.DataFrame:
    months = pdf[pdf["period_type"] == "month"].sort_values(KEY + ["period_start"])
    month = months["period_start"].dt.year * 12 + months["period_start"].dt.month
    g = months.groupby(KEY, observed=True, sort=False)
    mean = g["value"].rolling(12, min_periods=12).mean().reset_index(level=list(range(len(KEY))), drop=True)
    span = month - month.groupby([months[c] for c in KEY], observed=True, sort=False).shift(11)
    months["rolling_12m"] = mean.where(span == 11)
    return months


def pd_per_capita(pdf: pd.DataFrame, population: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    out = pdf.merge(population.rename(columns={"value": "population"}), on=["area", "period", "gender"], how="left")
    add = out.merge(attrs[["series", "measure", "is_additive"]], on=["series", "measure"], how="left")["is_additive"]
    out["per_capita"] = (out["value"] / out["population"] * 10_000).where(add.fillna(False).to_numpy())
    return out


# ----------------------------------------------------------------------------- the run

def synthetic_population(obs: pl.DataFrame) -> pl.DataFrame:
    """SYNTHETIC inhabitants per district, month and gender (made up for the benchmark)."""
    cells = obs.select("area", "period", "gender").unique()
    return cells.with_columns(
        value=(pl.col("area").hash(7) % 90_000 + 10_000).cast(pl.Float64)
        * pl.when(pl.col("gender") == "totalt").then(2.0).otherwise(1.0),
        dataset=pl.lit(SYNTHETIC_LABEL))


def agree(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=1e-6, equal_nan=True))


def click_benchmark(obs: pl.DataFrame, attrs, parts, n_clicks: int) -> dict:
    reset_peak()
    rss_before = current_mb()
    build_s, _, index = timed(lambda: SelectionIndex(obs, attrs=attrs, share_parts=parts))
    build_peak = peak_mb()
    pairs = list(index.ranges)
    rng = np.random.default_rng(1)
    chosen = [pairs[i] for i in rng.choice(len(pairs), size=min(n_clicks, len(pairs)), replace=False)]
    # Always include a share measure with målvärden: the heaviest page.
    heavy = ("syntetisk_02", "syn_andel_till_arbete_01")
    if heavy in index.ranges and heavy not in chosen:
        chosen[0] = heavy

    def served(series: str, measure: str, base_year=None):
        index._cache.clear()  # time the work, not the cache
        return index.metrics(series, measure, base_year)

    warm, scratch = [], []
    for series, measure in chosen:
        rows = index.select(series, measure).height
        best, _, _ = timed(lambda: served(series, measure), repeat=3)
        warm.append((best, rows, series, measure))
        best, _, _ = timed(lambda: index.compute(series, measure), repeat=3)
        scratch.append((best, rows, series, measure))
    other_year, _, _ = timed(lambda: served(*heavy, base_year=BASE_YEAR + 2), repeat=3)
    hit, _, _ = timed(lambda: index.metrics(*chosen[0]), repeat=5)
    return {"build_s": build_s, "warm": warm, "scratch": scratch, "other_year_s": other_year, "hit_s": hit,
            "build_peak_mb": build_peak, "index_mb": current_mb() - rss_before, "peak_mb": peak_mb(),
            "index": index, "rows_per_click": statistics.median(w[1] for w in warm)}


def cold_click(path: Path, attrs, parts) -> tuple[float, int]:
    series, measure = "syntetisk_02", "syn_andel_till_arbete_01"

    def run():
        frame = scan_selection(path, series, measure)
        part_frames = [scan_selection(path, series, m) for m in parts[(series, measure)]]
        return page_metrics(frame, parts=part_frames, attrs=attrs, share_parts=parts), frame.height

    best, _, (_, height) = timed(run, repeat=3)
    return best, height


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="a tenth of the rows, for a quick check")
    ap.add_argument("--clicks", type=int, default=12, help="different selections timed for the click")
    ap.add_argument("--repeat", type=int, default=2, help="runs per amnstats metric (the best is shown)")
    args = ap.parse_args()

    print(f"Machine: {machine()}")
    print(f"Calibration: numpy sort of 10 million floats {calibration_ms():.0f} ms (best of 3)")
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    reset_peak()
    groups = 4 if args.small else 40
    gen_s, _, obs = timed(lambda: generate(n_groups=groups))
    attrs, parts = synthetic_attributes(), synthetic_share_parts()
    print(f"\nSYNTHETIC table ('{SYNTHETIC_LABEL}'): {obs.height:,} rows x {obs.width} columns, generated in "
          f"{gen_s:.1f} s; {obs.estimated_size() / 1e9:.2f} GB in polars; peak RSS so far {peak_mb():,.0f} MB")

    # 1. The click ---------------------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.parquet"
        obs.write_parquet(path, row_group_size=65_536, statistics=True)
        click = click_benchmark(obs, attrs, parts, args.clicks)
        cold_s, cold_rows = cold_click(path, attrs, parts)
    def line(times, label):
        ordered = sorted(t[0] for t in times)
        heaviest = max(times, key=lambda t: t[1])
        print(f"   {label}, {len(ordered)} selections of ~{click['rows_per_click']:,.0f} rows: median "
              f"{statistics.median(ordered) * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (heaviest: "
              f"{heaviest[1]:,} rows, {heaviest[0] * 1000:.1f} ms)")
    print("\n1. The work after a click (one series and measure: all its areas, genders, groups, periods;"
          " YoY, gender, district rank, district groups, targets, index, rolling 12 months)")
    print(f"   SelectionIndex over the whole table, built once at start (keys numbered and every metric"
          f" computed once): {click['build_s']:,.1f} s; it holds {click['index_mb']:,.0f} MB more than the"
          f" table; peak RSS while building {click['build_peak_mb']:,.0f} MB")
    line(click["warm"], "click as served (slices of the precomputed results, no cache)")
    line(click["scratch"], "the same clicks computed from scratch on the selection (page_metrics)")
    print(f"   click with another base year than the first (index computed on the selection):"
          f" {click['other_year_s'] * 1000:.1f} ms")
    print(f"   the same click again (cache hit): {click['hit_s'] * 1000:.3f} ms")
    print(f"   cold: parquet scan with predicate pushdown + all metrics ({cold_rows:,} rows): {cold_s * 1000:.0f} ms")
    print(f"   peak RSS during the click phase: {click['peak_mb']:,.0f} MB")
    del click
    gc.collect()

    # 2. Each metric over the whole table --------------------------------------------------
    # amnstats first, then pandas on a pandas copy with the polars table freed: the two
    # tables and their intermediates never share memory.
    population = synthetic_population(obs)
    print(f"\n2. Each metric over the whole table ({obs.height:,} rows), amnstats (best of {args.repeat}) against"
          f" pandas (one run, on the {len(PANDAS_COLUMNS)} columns it needs, keys as category)")
    ours = {}
    reset_peak()
    keys_s, _, keys = timed(lambda: warm_keys(ObsKeys(obs, attrs)), repeat=args.repeat)
    print(f"   amnstats keys of the table (ObsKeys: key ids, periods, values, status; once per table,"
          f" shareable with keys=): {keys_s:.2f} s")
    print(f"   {'':<29}{'from scratch':>13}{'shared keys':>13}")
    for name, (metric, summary) in amnstats_metrics(obs, attrs, parts, population).items():
        best, _, result = timed(metric, repeat=args.repeat)
        ours[name] = (best, float(summary(result)))
        del result
        shared_metric = amnstats_metrics(obs, attrs, parts, population, keys=keys)[name][0]
        shared, _, result = timed(shared_metric, repeat=args.repeat)
        assert agree(float(summary(result)), ours[name][1])
        del result
        print(f"   amnstats {name:<20}{best:>11.2f} s{shared:>11.2f} s", flush=True)
    del keys
    ours_peak = peak_mb()
    n_rows = obs.height
    pdf, pattrs, ppop = to_pandas(obs, attrs, population)
    del obs, population
    gc.collect()
    reset_peak()
    print(f"   {'metric':<26}{'amnstats':>10}{'pandas':>10}{'ratio':>8}   check")
    rows = []
    for name, (metric, summary) in pandas_metrics(pdf, pattrs, ppop, parts).items():
        theirs_s, _, result = timed(metric)
        theirs_value = float(summary(result))
        del result
        ours_s, ours_value = ours[name]
        ok = agree(ours_value, theirs_value)
        rows.append((name, ours_s, theirs_s, ok))
        print(f"   {name:<26}{ours_s:>9.2f}s{theirs_s:>9.2f}s{theirs_s / ours_s:>7.1f}x   "
              f"{'agree' if ok else 'DIFFER'} ({ours_value:.6g} / {theirs_value:.6g})", flush=True)
    print(f"   peak RSS: amnstats part {ours_peak:,.0f} MB, pandas part {peak_mb():,.0f} MB ({n_rows:,} rows)")
    slowest = max(rows, key=lambda r: r[1])
    print(f"\nSlowest amnstats metric: {slowest[0]} {slowest[1]:.2f} s; amnstats faster on "
          f"{sum(r[2] > r[1] for r in rows)} of {len(rows)} metrics; load average now "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; total {time.perf_counter() - START:.0f} s")
    assert all(r[3] for r in rows), "amnstats and pandas disagree"


PANDAS_COLUMNS = ["series", "measure", "period", "period_start", "period_end", "period_type", "gender", "area",
                  "area_type", "group", "value", "status", "kind", "target_setter", "unit"]
START = time.perf_counter()


def amnstats_metrics(obs, attrs, parts, population, keys=None) -> dict:
    """name -> (run the metric, a number summarising its result for the cross-check).
    keys=None: every call numbers the table's keys itself (from scratch)."""
    def fresh():  # a copy of the shared keys without the results metrics cache in them
        return None if keys is None else keys.shared()
    return {
        "year_on_year": (lambda: year_on_year(obs, keys=fresh()), lambda r: r["change_abs"].sum()),
        "gender_split": (lambda: gender_split(obs, attrs, keys=fresh()),
                         lambda r: (r["gender_check"] == "mismatch").sum()),
        "area_comparison": (lambda: area_comparison(obs, attrs, keys=fresh()), lambda r: r["rank"].sum()),
        "aggregate_areas": (lambda: aggregate_areas(obs, attrs=attrs, share_parts=parts, keys=fresh()),
                            lambda r: r["value"].sum()),
        "target_status": (lambda: target_status(obs, attrs, keys=fresh()),
                          lambda r: (r["target_status"] == "partly_met").sum()),
        "index_to_base": (lambda: index_to_base(obs, BASE_YEAR, keys=fresh()), lambda r: r["index"].sum()),
        "rolling_12_months": (lambda: rolling_12_months(obs, keys=fresh()), lambda r: r["rolling_12m"].sum()),
        "per_capita": (lambda: per_capita(obs, population, attrs=attrs, keys=fresh()),
                       lambda r: r["per_capita"].sum()),
    }


def warm_keys(keys: ObsKeys) -> ObsKeys:
    """Everything ObsKeys computes per row, computed now (what SelectionIndex does once)."""
    keys.pid, keys.values, keys.status, keys.key_frame, keys.additive_key, keys.direction_key  # noqa: B018
    return keys


def to_pandas(obs, attrs, population):
    """pandas gets its best case: key columns as category (the conversion is not timed)."""
    categorical = [c for c in PANDAS_COLUMNS if c not in ("period_start", "period_end", "value")]
    pdf = obs.select(PANDAS_COLUMNS).to_pandas().astype({c: "category" for c in categorical})
    ppop = population.select("area", "period", "gender", "value").to_pandas()
    ppop = ppop.astype({c: pdf[c].dtype for c in ("area", "period", "gender")})
    return pdf, attrs.to_pandas(), ppop


def pandas_metrics(pdf, pattrs, ppop, parts) -> dict:
    return {
        "year_on_year": (lambda: pd_year_on_year(pdf), lambda r: r["change_abs"].sum()),
        "gender_split": (lambda: pd_gender_split(pdf, pattrs), lambda r: (r["gender_check"] == "mismatch").sum()),
        "area_comparison": (lambda: pd_area_comparison(pdf, pattrs), lambda r: r["rank"].sum()),
        "aggregate_areas": (lambda: pd_aggregate_areas(pdf, pattrs, parts), lambda r: r["value"].sum()),
        "target_status": (lambda: pd_target_status(pdf, pattrs), lambda r: (r["target_status"] == "partly_met").sum()),
        "index_to_base": (lambda: pd_index_to_base(pdf), lambda r: r["index"].sum()),
        "rolling_12_months": (lambda: pd_rolling_12_months(pdf), lambda r: r["rolling_12m"].sum()),
        "per_capita": (lambda: pd_per_capita(pdf, ppop, pattrs), lambda r: r["per_capita"].sum()),
    }


if __name__ == "__main__":
    main()
