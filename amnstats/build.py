"""The build: data/raw -> data/processed, deterministic, validated and atomic.

Load inputs (every source loader) / process (normalise, validate, mark preferred rows) /
save outputs (a new build folder, then one atomic switch of the `current` link). A crash
at any point leaves the previous build in place and readable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from filelock import FileLock

from . import catalogue, paths, storage
from .normalise import duplicate_conflicts, is_constant, normalise, only_measure, pack_code, value_codes
from .problems import InputError, Problem
from .schema import KEY_COLUMNS, SOURCE_ROW, STORED_DTYPES, STORED_SCHEMA, as_stored
from .sources import DATASET_FIELDS, api, reports, scb_bas, sha256_file, uploads

LOADERS = (reports.load, scb_bas.load, uploads.load, api.load)
BUILD_FORMAT = "3"  # bump when the processed layout changes (3: source_row)
STORE_ORDER = ("series", "measure", "area", "group", "gender", "period_start", "period_end", "kind",
               "target_setter", "dataset", "source", "source_row")  # row order of observations.parquet
_hash_cache: dict[tuple[str, int, int], str] = {}
ROW_GROUP_ROWS = 131_072  # rows per Parquet row group of the store
_verified: dict[tuple, str | None] = {}
log = logging.getLogger("amnstats")


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


def input_fingerprint(raw_dir: Path | None = None, pending: dict[str, str] | None = None) -> str:
    """Hash of every raw file and catalogue file (content, not mtime: git checkouts set mtimes).
    `pending`: {path under raw_dir: SHA-256} of files about to be written (an import's file and
    record), counted as if they were there already."""
    raw_dir = raw_dir or paths.raw_dir()
    pending = {raw_dir / rel: digest for rel, digest in (pending or {}).items()}
    h = hashlib.sha256(f"format={BUILD_FORMAT}".encode())
    for base, files in ((raw_dir, sorted({p for p in raw_dir.rglob("*") if p.is_file()} | set(pending))),
                        (paths.CATALOGUE_DIR, sorted(paths.CATALOGUE_DIR.glob("*.csv")))):
        for p in files:
            if p.name.startswith(".") or "__pycache__" in p.parts:  # locks, temporary files
                continue
            h.update(p.relative_to(base).as_posix().encode() + b"\0" + (pending.get(p) or _hash(p)).encode())
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


def verify_build(build_path: Path) -> str | None:
    """None when the build folder is complete and readable, else what is wrong: the manifest,
    both Parquet footers, the row counts the manifest states and (for builds that record them)
    the files' SHA-256. A power cut can leave a truncated file behind; this is where it shows.
    The answer is remembered while the files' size and mtime stay the same."""
    names = ("manifest.json", "observations.parquet", "datasets.parquet")
    try:
        stats = tuple((st.st_size, st.st_mtime_ns) for st in ((build_path / n).stat() for n in names))
    except OSError as exc:
        return f"{exc.filename or build_path} saknas"
    key = (str(build_path), stats)
    if key not in _verified:
        _verified[key] = _verify(build_path)
    return _verified[key]


def _verify(build_path: Path) -> str | None:
    try:
        manifest = json.loads((build_path / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        return f"manifest.json kan inte läsas ({exc})"
    for name, count in (("observations.parquet", "n_observations"), ("datasets.parquet", "n_datasets")):
        try:
            rows = pq.read_metadata(build_path / name).num_rows
        except Exception as exc:  # noqa: BLE001 - any failure to read the footer means a damaged file
            return f"{name} kan inte läsas ({type(exc).__name__}: {exc})"
        if rows != manifest.get(count):
            return f"{name} har {rows} rader men manifest.json anger {manifest.get(count)}"
        want = manifest.get("sha256", {}).get(name)
        if want and sha256_file(build_path / name) != want:
            return f"{name} stämmer inte med sin kontrollsumma"
    return None


def is_stale(raw_dir: Path | None = None, processed_dir: Path | None = None) -> bool:
    cur = current_build(processed_dir)
    return cur is None or build_fingerprint(cur) != input_fingerprint(raw_dir)


def collect(raw_dir: Path, processed_dir: Path | None = None,
            upload_keys: dict[str, str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Load inputs and process them into (observations, datasets). Raises BuildError.
    Uploads may be taken from an earlier build in `processed_dir` (see uploads.from_builds);
    `upload_keys` receives the cache key of each upload loaded."""
    problems: list[Problem] = []
    frames: list[pl.DataFrame] = []
    datasets: list[dict] = []
    for load in LOADERS:
        batch = load(raw_dir, processed_dir)
        if upload_keys is not None:
            upload_keys.update(batch.cache_keys)
        problems += batch.problems
        frames += batch.candidates
        datasets += batch.datasets
    ids = [d["id"] for d in datasets]
    for dup in {i for i in ids if ids.count(i) > 1}:
        problems.append(Problem(dup, None, "id", "två dataset har samma id"))
    if problems:
        raise BuildError(problems, "Bygget avbröts")
    # A loader may hand over observations that are already validated and in store order (an
    # upload, normalised when it was imported): they are concatenated, not normalised again.
    ready = [f for f in frames if f.columns == STORED_SCHEMA.names()]
    frames = [f for f in frames if f.columns != STORED_SCHEMA.names()]
    try:
        obs = normalise(pl.concat(frames, how="vertical")) if frames else STORED_DTYPES.to_frame()
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
    obs = _combine(obs, ready, datasets)
    return obs, _datasets_frame(datasets, obs)


def _combine(obs: pl.DataFrame, ready: list[pl.DataFrame], datasets: list[dict]) -> pl.DataFrame:
    """All observations, preferred rows marked, in store order, as stored (schema.as_stored).

    `obs` (normalised in this build) goes through _mark_preferred. A ready frame (one upload:
    one series and measure, unique keys, in store order) only sends the rows whose key another
    source also has; its other rows cannot repeat a figure, keep is_preferred / no conflict,
    and are merged into place by (series, measure) without sorting them again."""
    key = list(KEY_COLUMNS)
    contested = [obs]
    by_pair: dict[tuple[str, str], list[pl.DataFrame]] = {}
    for f in (f for f in ready if f.height):
        # asked through expressions: an upload's constant columns stay one value each
        if (pair := only_measure(f)) is not None and f.select(pl.col("is_preferred").all()
                                                              & ~pl.col("has_conflict").any()).item():
            by_pair.setdefault(pair, []).append(f)
        else:
            contested.append(f)
    keep: dict[tuple[str, str], list[pl.DataFrame]] = {}
    for pair, frames in by_pair.items():
        base = obs.filter(pl.col("series") == pair[0], pl.col("measure") == pair[1])
        for i, f in enumerate(frames):
            others = [o for o in [base, *frames[:i], *frames[i + 1:]] if o.height]
            repeated = _repeated_keys(f, others, key)
            if repeated is not None:
                contested.append(f.filter(repeated))
                f = f.filter(~repeated)
            keep.setdefault(pair, []).append(f)
    marked = _mark_preferred(pl.concat(contested, how="vertical"), datasets)
    if not keep:
        return as_stored(marked)
    runs = (marked.select("series", "measure").with_row_index("_i")
            .group_by("series", "measure", maintain_order=True).agg(start=pl.col("_i").first(), n=pl.len()))
    stored = as_stored(marked)  # cast once; the measures no upload joins are slices of it
    pieces: dict[tuple[str, str], pl.DataFrame] = {}
    for r in runs.iter_rows(named=True):
        pair = (r["series"], r["measure"])
        if pair in keep:
            keep[pair].insert(0, marked.slice(r["start"], r["n"]))
        else:
            pieces[pair] = stored.slice(r["start"], r["n"])
    pieces |= {pair: _merge_sorted(frames) for pair, frames in keep.items()}
    # str order is UTF-8 byte order, as polars sorts. Not rechunked: the pieces are slices of the
    # frames above; _write_parquet does not need one chunk.
    return pl.concat([pieces[pair] for pair in sorted(pieces)], how="vertical", rechunk=False)


def _repeated_keys(f: pl.DataFrame, others: list[pl.DataFrame], key: list[str]) -> pl.Series | None:
    """Mask of the rows of `f` whose key is also in `others` (None: none is)."""
    if not others:
        return None
    periods = pl.concat([o["period"] for o in others]).unique()
    near = f["period"].is_in(periods.implode())  # cheap first cut: a shared period
    if not near.any():
        return None
    where = near.arg_true()
    mine = f[where].select(key).with_row_index("_i")
    theirs = pl.concat([o.select(key).filter(pl.col("period").is_in(mine["period"].unique().implode()))
                        for o in others]).unique()
    hits = mine.join(theirs, on=key, how="semi", nulls_equal=True)["_i"]
    if hits.is_empty():
        return None
    return pl.Series(np.zeros(f.height, dtype=bool)).scatter(where.gather(hits), True)


def _merge_sorted(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Frames each in store order, merged into one, as stored (schema.as_stored). A few rows are
    placed into a long frame by binary search (slices, no copy); otherwise the whole is sorted.
    Each frame is cast before it is sliced: an upload's constant columns are cast as one value."""
    frames = [f for f in frames if f.height] or frames[:1]
    if len(frames) == 1:
        return as_stored(frames[0])
    frames.sort(key=lambda f: -f.height)
    big, rest = frames[0], pl.concat(frames[1:], how="vertical")
    cols = list(STORE_ORDER)
    # source_row is null where source is whole (as polars sorts: nulls first)
    keyed = [pl.col(c).fill_null(-1) if c == SOURCE_ROW.name else pl.col(c) for c in cols]
    if rest.height > 2000 or any(f.select(keyed).null_count().sum_horizontal()[0] for f in (big, rest)):
        return as_stored(sorted_frame(pl.concat([big, rest], how="vertical"), cols))
    rest = sorted_frame(rest, cols)
    keys = big.select(keyed)
    big, rest = as_stored(big), as_stored(rest)
    pieces, done, lo = [], 0, 0
    for j, row in enumerate(rest.select(keyed).iter_rows()):
        hi = big.height
        while lo < hi:
            mid = (lo + hi) // 2
            if keys.row(mid) < row:
                lo = mid + 1
            else:
                hi = mid
        pieces += [big.slice(done, lo - done), rest.slice(j, 1)]
        done = lo
    pieces.append(big.slice(done))
    return pl.concat([p for p in pieces if p.height], how="vertical")


def _codes(s: pl.Series, descending: bool, nulls_last: bool = False) -> tuple[pl.Series, int] | None:
    """Dense UInt64 codes of `s` that sort as `s` does, and how many there can be (None for nulls,
    except in integers, e.g. source_row)."""
    if s.dtype.is_integer() and 0 < s.null_count() < s.len():
        lo, hi = s.min(), s.max()
        s = s.cast(pl.Int64).fill_null(hi + 1 if nulls_last != descending else lo - 1)
    coded = value_codes(s, ordered=True)
    if coded is None:
        return None
    code, card = coded
    return ((card - 1) - code if descending else code), card


def sort_order(df: pl.DataFrame, by: list[str], descending: list[bool] | None = None,
               known: dict[str, tuple[pl.Series, int]] | None = None, nulls_last: bool = False) -> np.ndarray | None:
    """Row order that sorts `df` by `by`, as DataFrame.sort does (stable), or None when it does not
    apply (nulls, floats). Each column becomes dense integer codes packed into 64-bit words, and
    the words are sorted: far cheaper than polars' multi-column sort of strings on millions of
    rows. A trailing column of (nearly) unique strings such as `source` is only coded when the
    columns before it leave ties. `known`: ordered codes of some columns, already at hand
    ({column: (codes, n)}, as normalise gives them)."""
    known = known or {}
    if df.height <= 1:
        return np.arange(df.height)
    descending = descending or [False] * len(by)
    words: list[pl.Series] = []
    word, room = None, 0
    for c, desc in zip(by, descending):
        if c in known and not desc:  # (n 1: the same on every row, no order)
            if known[c][1] > 1:
                word, room = pack_code(words, word, room, *known[c])
            continue
        if not df.schema[c].is_float() and is_constant(df, c):  # the same on every row: no order
            continue  # (an upload's series, measure, kind; floats not: -0.0 == 0.0)
        if df.schema[c].is_integer() and df.select(pl.col(c).is_null().all()).item():
            continue  # null on every row (source_row of a report)
        s = df[c]
        text = s.dtype == pl.String or isinstance(s.dtype, pl.Categorical)
        if word is not None and text and s.head(1000).n_unique() > 500:
            # The order so far; when it leaves no ties, the rest cannot change it.
            keys = [w.to_numpy() for w in (*words, word)]
            order = _lexsort(keys)
            if not _has_ties([k[order] for k in keys]):
                return order
        coded = _codes(s, desc, nulls_last)
        if coded is None:
            return None
        code, card = coded
        word, room = pack_code(words, word, room, code, card)
    if word is None:
        return np.arange(df.height)
    return _lexsort([w.to_numpy() for w in (*words, word)])


def _lexsort(keys: list[np.ndarray]) -> np.ndarray:
    """Stable order by the first key, then the next (numpy)."""
    return np.argsort(keys[0], kind="stable") if len(keys) == 1 else np.lexsort(keys[::-1])


def _has_ties(sorted_keys: list[np.ndarray]) -> bool:
    """Whether two neighbouring rows of the sorted keys are equal in every key."""
    same = np.ones(len(sorted_keys[0]) - 1, dtype=bool)
    for k in sorted_keys:
        same &= k[1:] == k[:-1]
    return bool(same.any())


def sorted_frame(df: pl.DataFrame, by: list[str], descending: list[bool] | None = None,
                 nulls_last: bool = False) -> pl.DataFrame:
    """df.sort(by, descending=..., nulls_last=...) with ties in input order, through sort_order."""
    order = sort_order(df, by, descending, nulls_last=nulls_last) if df.height > 1 else None
    if order is None:
        return df.sort(by, descending=descending or False, nulls_last=nulls_last, maintain_order=True)
    return df.rechunk()[pl.Series(order)]  # gathering from one chunk is many times faster


def _mark_preferred(obs: pl.DataFrame, datasets: list[dict]) -> pl.DataFrame:
    """One preferred row per key: an exact figure over an approximate one ('cirka 74' in the text
    against 73,8 in a table), then the newest dataset, then its first place. Conflicts flagged."""
    dates = pl.DataFrame({"dataset": [d["id"] for d in datasets], "_date": [d["date"] for d in datasets]},
                         schema={"dataset": obs.schema["dataset"], "_date": pl.String})
    key = list(KEY_COLUMNS)
    obs = sorted_frame(
        obs.join(dates, on="dataset", how="left")
        .with_columns(_line=pl.col("source").cast(pl.String).str.extract(r"#L(\d+)$").cast(pl.Int64)
                      .fill_null(0),
                      _approx=pl.col("status") == "approximate"),
        [*key, "_approx", "_date", "dataset", "_line", "source", SOURCE_ROW.name],
        descending=[False] * len(key) + [False, True, False, False, False, False], nulls_last=True,
    )
    obs = (
        obs.with_columns(
            is_preferred=pl.int_range(pl.len()).over(key) == 0,
            has_conflict=pl.col("value").n_unique().over(key) > 1,
        )
        .drop("_date", "_line", "_approx")
    )
    return sorted_frame(obs, list(STORE_ORDER)).select(STORED_SCHEMA.names())


def _datasets_frame(datasets: list[dict], obs: pl.DataFrame) -> pl.DataFrame:
    # lazily: an eager select or group_by would first copy the columns of a store assembled from
    # many slices (see _combine) into one chunk
    counts = (obs.lazy().group_by("dataset").agg(n_values=pl.len(), n_preferred=pl.col("is_preferred").sum())
              .with_columns(pl.col("dataset").cast(pl.String)).collect())
    frame = pl.DataFrame(datasets, schema={k: pl.String for k in DATASET_FIELDS})
    return frame.join(counts.rename({"dataset": "id"}), on="id", how="left").sort("id")


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    # Deterministic bytes: no timestamps, fixed compression and row groups; the same bytes however
    # the frame was assembled (slices, chunks), which tests check. polars' writer encodes row
    # groups and columns in parallel (pyarrow's ParquetWriter: one column after another), and
    # chooses dictionary encoding per column by its cardinality.
    df.write_parquet(path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS)


def _upload_keys(keys: dict[str, str], datasets: pl.DataFrame) -> dict[str, list]:
    """{import id: [cache key, rows]} of the uploads in this build: later builds take an upload's
    rows from here (uploads.from_builds) instead of writing them a second time as a cache file."""
    counts = dict(zip(datasets["id"].to_list(), datasets["n_values"].to_list()))
    return {i: [key, counts.get(i) or 0] for i, key in sorted(keys.items()) if i in counts}


def build(raw_dir: Path | None = None, processed_dir: Path | None = None, force: bool = False, *,
          pending: dict[str, str] | None = None, commit: Callable[[], None] | None = None) -> BuildResult:
    """Rebuild data/processed from data/raw if anything changed (or `force`).

    An import builds while its file is still being written: `pending` names the files it is
    writing ({path under raw_dir: SHA-256}, its observations handed over to uploads), and
    `commit` writes its commit point. `commit` is called once the new store is in its temporary
    folder, before it becomes the build; when it raises, nothing is switched."""
    raw_dir = raw_dir or paths.raw_dir()
    processed_dir = processed_dir or paths.processed_dir()
    processed_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(processed_dir / ".build.lock"), timeout=120):
        fingerprint = input_fingerprint(raw_dir, pending)
        cur = current_build(processed_dir)
        if commit is None and cur is not None and not force and build_fingerprint(cur) == fingerprint:
            if (damage := verify_build(cur)) is None:
                n = pq.ParquetFile(cur / "observations.parquet").metadata.num_rows
                d = pq.ParquetFile(cur / "datasets.parquet").metadata.num_rows
                storage.ensure_published(cur)
                return BuildResult(cur, fingerprint, n, d, rebuilt=False)
            log.error("amnstats: current build %s is damaged (%s); rebuilding it from %s", cur, damage, raw_dir)
        _remove_leftovers(processed_dir)

        catalogue.measures.cache_clear()
        catalogue.areas.cache_clear()
        keys: dict[str, str] = {}
        obs, datasets = collect(raw_dir, processed_dir, keys)

        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=processed_dir))
        try:
            _write_parquet(obs, tmp / "observations.parquet")
            _write_parquet(datasets, tmp / "datasets.parquet")
            if commit is not None:
                commit()
            manifest = {"fingerprint": fingerprint, "format": BUILD_FORMAT,
                        "n_observations": len(obs), "n_datasets": len(datasets),
                        "sha256": {f.name: sha256_file(f) for f in sorted(tmp.glob("*.parquet"))},
                        "uploads": _upload_keys(keys, datasets)}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            for f in tmp.iterdir():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
            final = processed_dir / f"build-{fingerprint[:16]}"
            if final.exists():  # a forced rebuild: never touch the folder readers may be using
                final = processed_dir / f"build-{fingerprint[:16]}-{tmp.name.rsplit('-', 1)[-1]}"
            os.rename(tmp, final)
            storage.publish(final)  # object storage, when configured: files first, its CURRENT last
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


def _remove_leftovers(processed_dir: Path) -> None:
    """Temporary folders and links of builds killed half-way (called under the build lock)."""
    for p in processed_dir.glob(".build-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in processed_dir.glob(".current-*"):
        p.unlink(missing_ok=True)


def _remove_old_builds(processed_dir: Path, keep: str, keep_previous: int = 1) -> None:
    """Keep the current build and the one before it (readers may still hold it open)."""
    builds = sorted((p for p in processed_dir.glob("build-*") if p.name != keep),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[keep_previous:]:
        shutil.rmtree(old, ignore_errors=True)
