"""The build: data/raw -> data/processed, deterministic, validated and atomic.

Load inputs (every source loader) / process (normalise, validate, mark preferred rows) /
save outputs (a new build folder, then one atomic switch of the `current` link). A crash
at any point leaves the previous build in place and readable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from filelock import FileLock

from . import catalogue, paths
from .normalise import duplicate_conflicts, normalise
from .problems import InputError, Problem
from .schema import KEY_COLUMNS, OBSERVATION_SCHEMA
from .sources import DATASET_FIELDS, api, reports, scb_bas, sha256_file, uploads

LOADERS = (reports.load, scb_bas.load, uploads.load, api.load)
BUILD_FORMAT = "2"  # bump when the processed layout changes
_hash_cache: dict[tuple[str, int, int], str] = {}


class BuildError(InputError):
    pass


@dataclass(frozen=True)
class BuildResult:
    path: Path
    fingerprint: str
    n_observations: int
    n_datasets: int
    rebuilt: bool


def _hash(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _hash_cache:
        _hash_cache[key] = sha256_file(path)
    return _hash_cache[key]


def input_fingerprint(raw_dir: Path | None = None) -> str:
    """Hash of every raw file and catalogue file (content, not mtime: git checkouts set mtimes)."""
    raw_dir = raw_dir or paths.raw_dir()
    h = hashlib.sha256(f"format={BUILD_FORMAT}".encode())
    for base, files in ((raw_dir, sorted(p for p in raw_dir.rglob("*") if p.is_file())),
                        (paths.CATALOGUE_DIR, sorted(paths.CATALOGUE_DIR.glob("*.csv")))):
        for p in files:
            if p.name.startswith(".") or "__pycache__" in p.parts:  # locks, temporary files
                continue
            h.update(p.relative_to(base).as_posix().encode() + b"\0" + _hash(p).encode())
    return h.hexdigest()


def current_build(processed_dir: Path | None = None) -> Path | None:
    link = (processed_dir or paths.processed_dir()) / "current"
    try:
        target = link.resolve(strict=True)
    except (FileNotFoundError, OSError):
        return None
    return target if (target / "observations.parquet").exists() else None


def build_fingerprint(build_path: Path) -> str | None:
    try:
        return json.loads((build_path / "manifest.json").read_text())["fingerprint"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None


def is_stale(raw_dir: Path | None = None, processed_dir: Path | None = None) -> bool:
    cur = current_build(processed_dir)
    return cur is None or build_fingerprint(cur) != input_fingerprint(raw_dir)


def collect(raw_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Load inputs and process them into (observations, datasets). Raises BuildError."""
    problems: list[Problem] = []
    frames: list[pl.DataFrame] = []
    datasets: list[dict] = []
    for load in LOADERS:
        batch = load(raw_dir)
        problems += batch.problems
        frames += batch.candidates
        datasets += batch.datasets
    ids = [d["id"] for d in datasets]
    for dup in {i for i in ids if ids.count(i) > 1}:
        problems.append(Problem(dup, None, "id", "två dataset har samma id"))
    if problems:
        raise BuildError(problems, "Bygget avbröts")
    try:
        obs = normalise(pl.concat(frames, how="vertical")) if frames else OBSERVATION_SCHEMA.to_frame()
    except InputError as exc:
        raise BuildError(exc.problems, "Bygget avbröts") from None

    # The same key twice in one dataset with different values is an error, unless the
    # document itself prints both and its sidecar says so.
    explained = reports.explained_lines(datasets)
    for r in duplicate_conflicts(obs).iter_rows(named=True):
        lines = {int(s.rsplit("#L", 1)[1]) for s in r["sources"] if "#L" in s}
        if lines and lines <= explained.get(r["dataset"], set()):
            continue
        key = ", ".join(f"{k}={r[k]}" for k in KEY_COLUMNS if r[k])
        problems.append(Problem(r["dataset"], None, "value",
                                f"samma nyckel med olika värden ({key}) i {', '.join(r['sources'])}"))
    if problems:
        raise BuildError(problems, "Bygget avbröts")
    return _mark_preferred(obs, datasets), _datasets_frame(datasets, obs)


def _mark_preferred(obs: pl.DataFrame, datasets: list[dict]) -> pl.DataFrame:
    """One preferred row per key: an exact figure over an approximate one ('cirka 74' in the text
    against 73,8 in a table), then the newest dataset, then its first place. Conflicts flagged."""
    dates = pl.DataFrame({"dataset": [d["id"] for d in datasets], "_date": [d["date"] for d in datasets]},
                         schema={"dataset": pl.String, "_date": pl.String})
    key = list(KEY_COLUMNS)
    obs = (
        obs.join(dates, on="dataset", how="left")
        .with_columns(_line=pl.col("source").str.extract(r"#L(\d+)$").cast(pl.Int64).fill_null(0),
                      _approx=pl.col("status") == "approximate")
        .sort([*key, "_approx", "_date", "dataset", "_line", "source"],
              descending=[False] * len(key) + [False, True, False, False, False], nulls_last=True)
        .with_columns(
            is_preferred=pl.int_range(pl.len()).over(key) == 0,
            has_conflict=pl.col("value").n_unique().over(key) > 1,
        )
        .drop("_date", "_line", "_approx")
    )
    return obs.sort(["series", "measure", "area", "group", "gender", "period_start", "period_end",
                     "kind", "target_setter", "dataset", "source"]).select(OBSERVATION_SCHEMA.names())


def _datasets_frame(datasets: list[dict], obs: pl.DataFrame) -> pl.DataFrame:
    counts = obs.group_by("dataset").agg(n_values=pl.len(), n_preferred=pl.col("is_preferred").sum())
    frame = pl.DataFrame(datasets, schema={k: pl.String for k in DATASET_FIELDS})
    return frame.join(counts.rename({"dataset": "id"}), on="id", how="left").sort("id")


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    # Deterministic bytes: no timestamps, fixed compression, single row group.
    pq.write_table(df.to_arrow(), path, compression="zstd", row_group_size=1_000_000, store_schema=False)


def build(raw_dir: Path | None = None, processed_dir: Path | None = None, force: bool = False) -> BuildResult:
    """Rebuild data/processed from data/raw if anything changed (or `force`)."""
    raw_dir = raw_dir or paths.raw_dir()
    processed_dir = processed_dir or paths.processed_dir()
    processed_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(processed_dir / ".build.lock"), timeout=120):
        fingerprint = input_fingerprint(raw_dir)
        cur = current_build(processed_dir)
        if cur is not None and not force and build_fingerprint(cur) == fingerprint:
            n = pq.ParquetFile(cur / "observations.parquet").metadata.num_rows
            d = pq.ParquetFile(cur / "datasets.parquet").metadata.num_rows
            return BuildResult(cur, fingerprint, n, d, rebuilt=False)

        catalogue.measures.cache_clear()
        catalogue.areas.cache_clear()
        obs, datasets = collect(raw_dir)

        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=processed_dir))
        try:
            _write_parquet(obs, tmp / "observations.parquet")
            _write_parquet(datasets, tmp / "datasets.parquet")
            manifest = {"fingerprint": fingerprint, "format": BUILD_FORMAT,
                        "n_observations": len(obs), "n_datasets": len(datasets)}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            for f in tmp.iterdir():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
            final = processed_dir / f"build-{fingerprint[:16]}"
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
            _switch_link(processed_dir, final.name)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        _remove_old_builds(processed_dir, keep=final.name)
        return BuildResult(final, fingerprint, len(obs), len(datasets), rebuilt=True)


def _switch_link(processed_dir: Path, target_name: str) -> None:
    tmp_link = processed_dir / f".current-{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(target_name, tmp_link)
    os.replace(tmp_link, processed_dir / "current")  # atomic on POSIX
    fd = os.open(processed_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_builds(processed_dir: Path, keep: str, keep_previous: int = 1) -> None:
    """Keep the current build and the one before it (readers may still hold it open)."""
    builds = sorted((p for p in processed_dir.glob("build-*") if p.name != keep),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[keep_previous:]:
        shutil.rmtree(old, ignore_errors=True)
