"""Where the processed store is published and read: a local folder (the default) or object storage.

Without configuration nothing changes: the build writes data/processed/build-<id>/ and switches
the `current` link (amnstats.build), and the dashboard reads that folder.

With ``AMNSTATS_STORE_URI`` set to an object-storage URI, e.g.

    s3://amnstats-prod/store?region=eu-north-1
    s3://bucket/prefix?endpoint_override=127.0.0.1:9000&scheme=http     (MinIO, moto)
    abfs://container@account.dfs.core.windows.net/store                 (Azure, pyarrow >= 16)
    abfs://devstoreaccount1@127.0.0.1:10000/container/store?enable_tls=false&sv=...&sig=...
                                                                        (Azurite, with a SAS token)
    gs://bucket/prefix
    gs://bucket/prefix?endpoint_override=127.0.0.1:9023&scheme=http&anonymous=true
                                                                        (a GCS emulator, a public bucket)

the one writer (the instance that imports) still builds locally, then *publishes* the build:
every file goes to ``<prefix>/builds/<build-id>/`` and only then is the small object
``<prefix>/CURRENT`` overwritten with the build id. An object PUT is atomic, so a reader sees
the previous build or the new one, never a mix; a publish that dies half-way leaves CURRENT
on the previous build. Readers (any number of dashboard replicas) read CURRENT and the Parquet
files through pyarrow's filesystem layer (`pyarrow.fs`, with fsspec as a fallback for schemes
pyarrow does not know). Old builds are removed after publishing, keeping the two before the
current one for readers that are still loading them.

Credentials come from the environment as usual for each provider: AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY or an instance role for S3; for Azure, AZURE_STORAGE_ACCOUNT_KEY (read
here: pyarrow takes no account key from a URI), a SAS token in the URI's query, or pyarrow's
default credential chain (a managed or workload identity, AZURE_CLIENT_ID / AZURE_TENANT_ID /
AZURE_CLIENT_SECRET, the Azure CLI).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

ENV = "AMNSTATS_STORE_URI"
POINTER = "CURRENT"
HISTORY = "HISTORY.json"  # published build ids, oldest first (for pruning)
KEEP_PREVIOUS = 2
FILES = ("observations.parquet", "datasets.parquet", "manifest.json")  # manifest last
# Object stores have no folders, only names: a folder marker written by create_dir would
# outlive the files where the service refuses a folder delete (Azurite has no batch delete).
OBJECT_STORES = ("s3", "abfs", "gcs")


class StorageError(RuntimeError):
    pass


def redacted(text: str) -> str:
    """`text` without the query strings of the addresses in it: a SAS token there is a secret
    (pyarrow's errors quote the URL they failed on)."""
    return re.sub(r"\?[^\s'\"]*", "?…", text)


@dataclass(frozen=True)
class ObjectStore:
    """A prefix in object storage holding builds/<id>/ and the CURRENT pointer."""

    uri: str
    fs: pafs.FileSystem
    base: str  # bucket/prefix, as the filesystem names it

    def location(self, build_id: str) -> str:
        return f"{self.base}/builds/{build_id}"

    def current_id(self) -> str | None:
        try:
            with self.fs.open_input_stream(f"{self.base}/{POINTER}") as fh:
                return fh.read().decode("utf-8").strip() or None
        except FileNotFoundError:
            return None
        except OSError as exc:
            if "NoSuchKey" in str(exc) or "does not exist" in str(exc) or "Not Found" in str(exc):
                return None
            raise

    def publish(self, build_dir: Path) -> str:
        """Upload one local build folder, then point CURRENT at it (last, atomically)."""
        build_id = build_dir.name
        target = self.location(build_id)
        if self.fs.type_name not in OBJECT_STORES:
            self.fs.create_dir(target, recursive=True)
        for name in FILES:
            src = build_dir / name
            with src.open("rb") as fh, self.fs.open_output_stream(f"{target}/{name}") as out:
                while chunk := fh.read(8 << 20):
                    out.write(chunk)
        with self.fs.open_output_stream(f"{self.base}/{POINTER}") as out:
            out.write(build_id.encode("utf-8") + b"\n")
        self.prune(keep=build_id)
        return target

    def prune(self, keep: str) -> None:
        """Remove old builds: HISTORY lists the published ids in order; `keep` and the
        KEEP_PREVIOUS before it stay (readers may still be loading them), every other build
        folder (including the files of a publish that never reached CURRENT) goes."""
        try:
            with self.fs.open_input_stream(f"{self.base}/{HISTORY}") as fh:
                history = json.loads(fh.read().decode("utf-8"))
        except (FileNotFoundError, OSError, ValueError):
            history = []
        history = [b for b in history if b != keep][-KEEP_PREVIOUS:] + [keep]
        with self.fs.open_output_stream(f"{self.base}/{HISTORY}") as out:
            out.write(json.dumps(history).encode("utf-8"))
        for build_id in sorted(self._published_ids() - set(history)):
            self._remove(self.location(build_id))

    def _published_ids(self) -> set[str]:
        """The build ids with anything under builds/. Every object is listed, not the folders: a
        service need not list folders (the GCS emulator lists none) and a folder need not exist
        as an object of its own."""
        prefix = f"{self.base}/builds/"
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(prefix.rstrip("/"), recursive=True))
        except (FileNotFoundError, OSError):
            return set()
        return {info.path[len(prefix):].split("/", 1)[0] for info in infos if info.path.startswith(prefix)} - {""}

    def remove_builds_with_upload(self, import_id: str) -> list[str]:
        """Remove every published build except CURRENT whose manifest lists the upload `import_id`
        (an erased file's rows must not stay readable in an older build); returns their ids."""
        removed = []
        for build_id in sorted(self._published_ids() - {self.current_id()}):
            try:
                uploads = self.read_manifest(build_id).get("uploads") or {}
            except (FileNotFoundError, OSError, ValueError):
                uploads = {import_id: "unreadable"}  # a build we cannot read may hold it: it goes too
            if import_id in uploads:
                self._remove(self.location(build_id))
                removed.append(build_id)
        return removed

    def _remove(self, folder: str) -> None:
        """A build folder and its files; one object at a time where the service refuses the
        folder delete. A failure leaves the folder for the next publish to remove."""
        try:
            self.fs.delete_dir(folder)
            return
        except OSError:  # also FileNotFoundError: GCS answers 404 for a folder without a marker object
            pass
        try:
            for info in self.fs.get_file_info(pafs.FileSelector(folder, recursive=True)):
                if info.type == pafs.FileType.File:
                    self.fs.delete_file(info.path)
        except (FileNotFoundError, OSError):
            pass

    def read_table(self, build_id: str, name: str) -> pa.Table:
        return pq.read_table(f"{self.location(build_id)}/{name}", filesystem=self.fs)

    def read_manifest(self, build_id: str) -> dict:
        with self.fs.open_input_stream(f"{self.location(build_id)}/manifest.json") as fh:
            return json.loads(fh.read().decode("utf-8"))


def store_uri() -> str:
    return os.environ.get(ENV, "").strip()


def is_remote() -> bool:
    return bool(store_uri())


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    uri, anonymous = _without_anonymous(uri)
    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        return (_anonymous_gcs(fs) if anonymous else _with_account_key(fs)), path
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        # schemes pyarrow has no native filesystem for (e.g. az:// through adlfs): fsspec
        try:
            import fsspec
        except ImportError:
            raise StorageError(f"{ENV}={redacted(uri)}: pyarrow känner inte schemat och fsspec är inte installerat") from None
        fs, path = fsspec.core.url_to_fs(uri)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def _without_anonymous(uri: str) -> tuple[str, bool]:
    """The URI without an `anonymous=true` query field, and whether it had one. pyarrow reads
    no such field from a gs:// URI: without it, GCS clients look for Google credentials (and an
    emulator or a public bucket has none to give)."""
    base, sep, query = uri.partition("?")
    if not base.startswith(("gs://", "gcs://")) or not sep:
        return uri, False
    fields = [f for f in query.split("&") if f]
    rest = [f for f in fields if f.split("=", 1)[0] != "anonymous"]
    anonymous = any(f.lower() in ("anonymous=true", "anonymous=1") for f in fields)
    return base + ("?" + "&".join(rest) if rest else ""), anonymous


def _options(fs: pafs.FileSystem) -> dict:
    """The arguments pyarrow made `fs` with (through its pickling protocol): to make it again
    with one more, which its URI cannot carry."""
    return fs.__reduce__()[1][0]


def _anonymous_gcs(fs: pafs.FileSystem) -> pafs.FileSystem:
    if fs.type_name != "gcs":
        raise StorageError(f"{ENV}: anonymous=true gäller bara gs://-adresser")
    return pafs.GcsFileSystem(**(_options(fs) | {"anonymous": True}))


def _with_account_key(fs: pafs.FileSystem) -> pafs.FileSystem:
    """An Azure filesystem from a URI, signed with AZURE_STORAGE_ACCOUNT_KEY when that is set
    and the URI carries no SAS token (the URI's account, hosts and scheme kept)."""
    if fs.type_name != "abfs":
        return fs
    key = os.environ.get("AZURE_STORAGE_ACCOUNT_KEY", "").strip()
    options = _options(fs)
    if options.get("sas_token"):
        return fs
    if not key:
        if "http" in (options.get("blob_storage_scheme"), options.get("dfs_storage_scheme")):
            # the Azure SDK refuses token sign-in without TLS by aborting the whole process
            raise StorageError(f"{ENV}: en Azure-adress utan TLS (enable_tls=false) behöver "
                               "AZURE_STORAGE_ACCOUNT_KEY eller en SAS-token i adressen")
        return fs
    return pafs.AzureFileSystem(
        options["account_name"], account_key=key,
        **{k: options[k] for k in ("blob_storage_authority", "blob_storage_scheme", "dfs_storage_authority",
                                   "dfs_storage_scheme") if options.get(k)})


@lru_cache(maxsize=4)
def _open(uri: str) -> ObjectStore:
    fs, base = _filesystem(uri)
    return ObjectStore(uri, fs, base.rstrip("/"))


def object_store() -> ObjectStore | None:
    """The configured object store, or None for the local default."""
    uri = store_uri()
    return _open(uri) if uri else None


def is_writer() -> bool:
    """Read-only instances (AMNSTATS_READ_ONLY, the dashboard replicas) never publish."""
    return os.environ.get("AMNSTATS_READ_ONLY", "").lower() not in ("1", "true", "ja", "yes")


def publish(build_dir: Path) -> str | None:
    """Publish a finished local build to object storage when one is configured (and this
    instance is the writer)."""
    store = object_store()
    if store is None or not is_writer():
        return None
    try:
        return store.publish(build_dir)
    except OSError as exc:
        raise StorageError(redacted(f"bygget kunde inte publiceras till {store.uri}: {exc}")) from exc


def remove_builds_with_upload(import_id: str) -> list[str]:
    """Erasing an upload: the published builds (other than CURRENT) that hold its rows go too."""
    store = object_store()
    if store is None or not is_writer():
        return []
    try:
        return store.remove_builds_with_upload(import_id)
    except OSError as exc:
        raise StorageError(redacted(f"äldre byggen i {store.uri} kunde inte raderas: {exc}")) from exc


def ensure_published(build_dir: Path) -> None:
    """The local current build is up to date; make sure object storage points at it too."""
    store = object_store()
    if store is not None and is_writer() and store.current_id() != build_dir.name:
        publish(build_dir)


# ---------------------------------------------------------------- readers (dashboard replicas)

_pointer_lock = threading.Lock()
_pointer: dict[str, tuple[float, str | None]] = {}
POINTER_TTL_S = 5.0  # replicas notice a new build within this time


def current_remote_build() -> str | None:
    """The build id CURRENT names, re-read at most every POINTER_TTL_S seconds per process."""
    store = object_store()
    if store is None:
        return None
    now = time.monotonic()
    with _pointer_lock:
        hit = _pointer.get(store.uri)
        if hit and now - hit[0] < POINTER_TTL_S:
            return hit[1]
    build_id = store.current_id()
    with _pointer_lock:
        _pointer[store.uri] = (now, build_id)
    return build_id


def remote_location(build_id: str) -> str:
    """A readable name for a remote build (what the dashboard caches its data by)."""
    return f"{store_uri().split('?', 1)[0].rstrip('/')}/builds/{build_id}"


def read_table(location: str, name: str) -> pa.Table:
    """One file of a build: `location` is a local build folder or a remote_location()."""
    store = object_store()
    if store is not None and "://" in location:
        return store.read_table(location.rstrip("/").rsplit("/", 1)[-1], name)
    return pq.read_table(Path(location) / name)
