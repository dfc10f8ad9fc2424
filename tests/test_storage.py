"""The processed store on object storage (AMNSTATS_STORE_URI), against a local S3 server (moto),
a local Azure Blob Storage (Azurite, from npm: scripts/install_test_deps.sh installs it), a
local Google Cloud Storage (gcp-storage-emulator, from PyPI), and through the fsspec fallback
(fsspec's in-memory filesystem).

Publishing uploads a build's files under builds/<id>/ and writes the CURRENT pointer last;
replicas read CURRENT and the Parquet files through pyarrow.fs. Without the variable the
store stays the local folder, as before. In CI a missing moto, Azurite, GCS emulator or fsspec is a
failure, not a skip.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from amnstats import storage, store
from amnstats.build import build, current_build
from amnstats.schema import from_stored

IN_CI = os.environ.get("CI", "").lower() == "true"
AZURITE = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "azurite-blob"
# Azurite's documented development account (public, the same in every installation)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

HEADER = "series,measure,period,gender,area,group,value_printed,status,kind,target_setter,line,note\n"


def _add_report(data_dir, name: str, year: int) -> None:
    (data_dir / "raw" / "reports" / f"{name}.csv").write_text(
        HEADER + f"jobbtorg,inskrivna,{year},totalt,Stockholm,,1,,utfall,,1,\n", encoding="utf-8")
    (data_dir / "raw" / "reports" / f"{name}.meta.json").write_text(
        json.dumps({"id": name, "title": "t", "producer": "p", "licence": "l"}), encoding="utf-8")


def _missing(message: str) -> None:
    """An emulator the tests need is not installed: a failure in CI, a skip elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        _missing("moto[server] is not installed: the object-storage path is untested")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_server, data_dir, monkeypatch):
    """A fresh bucket on the local S3 server, configured as the store."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    bucket = f"amnstats-{uuid.uuid4().hex[:8]}"
    uri = f"s3://{bucket}/store?endpoint_override={s3_server}&scheme=http&region=us-east-1"
    monkeypatch.setenv(storage.ENV, uri)
    admin, _ = storage.pafs.FileSystem.from_uri(f"s3://{bucket}?endpoint_override={s3_server}&scheme=http"
                                                 "&region=us-east-1&allow_bucket_creation=true")
    admin.create_dir(bucket)
    return storage.object_store()


@pytest.fixture(scope="module")
def azurite_server(tmp_path_factory):
    if not AZURITE.exists():
        _missing(f"Azurite is not installed ({AZURITE}; run scripts/install_test_deps.sh): "
                 "the abfs:// path is untested")
    port = _free_port()
    proc = subprocess.Popen([str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent", "--loose",
                             "--skipApiVersionCheck", "--location", str(tmp_path_factory.mktemp("azurite"))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("Azurite did not start: " + proc.stderr.read().decode()[-1500:])
            time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _account_sas(account: str, key: str) -> str:
    """An account SAS token (blob service; containers and objects; read, write, delete, list,
    add, create) valid for an hour, signed as Azure documents it."""
    fields = {"sv": "2021-06-08", "ss": "b", "srt": "sco", "sp": "rwdlac", "spr": "https,http",
              "se": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    to_sign = "\n".join([account, fields["sp"], fields["ss"], fields["srt"], "", fields["se"], "", fields["spr"],
                         fields["sv"], "", ""])
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
    return urllib.parse.urlencode(fields | {"sig": sig})


def _azure_store(server: str, monkeypatch, sas: bool) -> storage.ObjectStore:
    container = f"amnstats-{uuid.uuid4().hex[:8]}"
    uri = f"abfs://{AZURITE_ACCOUNT}@{server}/{container}/store?enable_tls=false"
    if sas:
        monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY", raising=False)
        uri += "&" + _account_sas(AZURITE_ACCOUNT, AZURITE_KEY)
    else:
        monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
    monkeypatch.setenv(storage.ENV, uri)
    remote = storage.object_store()
    assert remote.fs.type_name == "abfs"  # pyarrow's own Azure filesystem, not a fallback
    remote.fs.create_dir(container)
    return remote


@pytest.fixture
def azure_store(azurite_server, data_dir, monkeypatch):
    """A fresh container on the local Azure Blob Storage, configured as the store (abfs://),
    signed with the account key from AZURE_STORAGE_ACCOUNT_KEY."""
    return _azure_store(azurite_server, monkeypatch, sas=False)


@pytest.fixture(scope="module")
def gcs_server():
    try:
        from gcp_storage_emulator.server import create_server
    except ImportError:
        _missing("gcp-storage-emulator is not installed: the gs:// path is untested")
    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gcs_store(gcs_server, data_dir, monkeypatch):
    """A fresh bucket on the local Google Cloud Storage, configured as the store (gs://; the
    emulator asks for no credentials, so the URI says anonymous=true)."""
    bucket = f"amnstats-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(storage.ENV, f"gs://{bucket}/store?endpoint_override={gcs_server}&scheme=http"
                                    "&retry_limit_seconds=5&anonymous=true")
    remote = storage.object_store()
    assert remote.fs.type_name == "gcs"  # pyarrow's own GCS filesystem, not a fallback
    admin = storage.pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=gcs_server,
                                       project_id="amnstats-test")  # making a bucket takes a project
    admin.create_dir(bucket)
    return remote


@pytest.fixture
def fsspec_store(data_dir, monkeypatch):
    """A scheme pyarrow has no filesystem of its own for (fsspec's in-memory filesystem): the
    store goes through the fsspec fallback, as az:// through adlfs would."""
    try:
        import fsspec
    except ImportError:
        _missing("fsspec is not installed: the fallback for other schemes is untested")
    prefix = f"amnstats-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(storage.ENV, f"memory://{prefix}/store")
    remote = storage.object_store()
    assert remote.fs.type_name == "py::fsspec+memory"  # the fallback, not a filesystem of pyarrow's
    yield remote
    memory = fsspec.filesystem("memory")
    if memory.exists(f"/{prefix}"):  # a read-only instance wrote nothing
        memory.rm(f"/{prefix}", recursive=True)


@pytest.fixture(params=["s3", "azure", "gcs", "fsspec"])
def remote_store(request):
    """Each test below runs against S3 (moto), Azure Blob Storage (Azurite), Google Cloud
    Storage (gcp-storage-emulator) and a scheme only fsspec knows (its in-memory filesystem)."""
    return request.getfixturevalue(f"{request.param}_store")


def _builds_with_files(remote: storage.ObjectStore) -> set[str]:
    """The build ids that still have a file in the store (services differ in listing folders)."""
    return {i.path.split("/builds/")[1].split("/")[0] for i in remote.fs.get_file_info(
        storage.pafs.FileSelector(f"{remote.base}/builds", recursive=True)) if i.type == storage.pafs.FileType.File}


def test_local_folder_is_the_default(data_dir, monkeypatch):
    monkeypatch.delenv(storage.ENV, raising=False)
    assert storage.object_store() is None and not storage.is_remote()
    result = build()
    assert storage.publish(result.path) is None
    assert current_build() == result.path


def test_build_is_published_and_read_back_through_pyarrow(remote_store, data_dir):
    result = build()
    assert remote_store.current_id() == result.path.name
    remote = from_stored(pl.from_arrow(remote_store.read_table(result.path.name, "observations.parquet")))
    assert_frame_equal(remote, store.load_observations())
    assert remote_store.read_manifest(result.path.name)["n_observations"] == result.n_observations
    location = storage.remote_location(remote_store.current_id())
    assert location.startswith(remote_store.uri.split("://")[0] + "://") and location.endswith(result.path.name)
    assert_frame_equal(pl.from_arrow(storage.read_table(location, "datasets.parquet")), store.load_datasets())


def test_interrupted_publish_leaves_readers_on_the_previous_build(remote_store, data_dir, monkeypatch):
    first = build()
    _add_report(data_dir, "extra", 2031)
    calls = []

    class DiesBeforeCurrent:  # the connection drops after the files, before the pointer
        def __getattr__(self, name):
            return getattr(remote_store.fs, name)

        def open_output_stream(self, path, *args, **kwargs):
            calls.append(path)
            if path.endswith(storage.POINTER):
                raise OSError("connection reset")
            return remote_store.fs.open_output_stream(path, *args, **kwargs)

    flaky = storage.ObjectStore(remote_store.uri, DiesBeforeCurrent(), remote_store.base)
    with monkeypatch.context() as m, pytest.raises(storage.StorageError):
        m.setattr(storage, "object_store", lambda: flaky)
        build()
    assert any(p.endswith("observations.parquet") for p in calls)  # the new files were uploaded
    assert remote_store.current_id() == first.path.name                # but CURRENT never moved
    assert current_build() == first.path                           # nor did the local link
    old = pl.from_arrow(remote_store.read_table(first.path.name, "observations.parquet"))
    assert len(old) == first.n_observations
    second = build()
    assert remote_store.current_id() == second.path.name and second.n_observations == first.n_observations + 1


def test_old_builds_are_pruned_and_an_up_to_date_store_is_republished(remote_store, data_dir):
    ids = [build().path.name]
    for year in (2031, 2032, 2033):
        _add_report(data_dir, f"extra{year}", year)
        ids.append(build().path.name)
    kept = _builds_with_files(remote_store)
    assert ids[-1] in kept and ids[0] not in kept and len(kept) == 1 + storage.KEEP_PREVIOUS
    remote_store.fs.delete_file(f"{remote_store.base}/{storage.POINTER}")  # e.g. a fresh bucket
    assert remote_store.current_id() is None
    again = build()
    assert not again.rebuilt and remote_store.current_id() == again.path.name


def test_a_replica_with_no_local_data_shows_the_published_store(remote_store, data_dir, tmp_path, monkeypatch):
    from apptest_helpers import run_page

    build()
    empty = tmp_path / "replica"
    (empty / "raw").mkdir(parents=True)
    monkeypatch.setenv("AMNSTATS_DATA_DIR", str(empty))  # nothing to build from
    monkeypatch.setenv("AMNSTATS_READ_ONLY", "1")
    monkeypatch.setattr(storage, "POINTER_TTL_S", 0.0)
    at = run_page("arbetsloshet")
    assert not at.exception and not at.error
    assert at.title[0].value == "Arbetslöshet"
    assert not (empty / "processed").exists() or not any((empty / "processed").glob("build-*"))


def test_a_read_only_instance_never_publishes(remote_store, data_dir, monkeypatch):
    monkeypatch.setenv("AMNSTATS_READ_ONLY", "1")
    result = build()
    assert result.rebuilt and current_build() == result.path  # it may build for itself
    assert remote_store.current_id() is None                       # but writes nothing to the store


def test_an_azure_store_signed_with_a_sas_token_in_the_uri(azurite_server, data_dir, monkeypatch):
    remote = _azure_store(azurite_server, monkeypatch, sas=True)
    result = build()
    assert remote.current_id() == result.path.name
    assert_frame_equal(from_stored(pl.from_arrow(remote.read_table(result.path.name, "observations.parquet"))),
                       store.load_observations())


def test_a_store_that_refuses_folder_deletes_is_pruned_object_by_object(azurite_server, data_dir, monkeypatch):
    """Azurite refuses the batch delete behind delete_dir with a SAS token: old builds then go
    one object at a time."""
    remote = _azure_store(azurite_server, monkeypatch, sas=True)
    ids = [build().path.name]
    for year in (2031, 2032, 2033):
        _add_report(data_dir, f"extra{year}", year)
        ids.append(build().path.name)
    assert _builds_with_files(remote) == set(ids[-1 - storage.KEEP_PREVIOUS:])


def test_an_azure_address_without_tls_or_key_is_refused_with_a_message(monkeypatch):
    """Without a key or SAS token the Azure SDK would sign in with a token, which it refuses
    over http by aborting the process: amnstats says what is missing instead."""
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY", raising=False)
    monkeypatch.setenv(storage.ENV, f"abfs://{AZURITE_ACCOUNT}@127.0.0.1:1/container/store?enable_tls=false")
    storage._open.cache_clear()
    with pytest.raises(storage.StorageError, match="AZURE_STORAGE_ACCOUNT_KEY eller en SAS-token"):
        storage.object_store()


def test_a_page_with_an_unreadable_store_says_so_and_shows_the_local_data(data_dir, monkeypatch):
    from apptest_helpers import run_page

    build()  # the local store, before object storage is configured
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY", raising=False)
    monkeypatch.setenv(storage.ENV, f"abfs://{AZURITE_ACCOUNT}@127.0.0.1:1/container/store?enable_tls=false")
    storage._open.cache_clear()
    at = run_page("arbetsloshet")
    assert not at.exception
    assert any("kunde inte läsas från den delade lagringen" in w.value and "SAS-token" in w.value for w in at.warning)
    assert at.title[0].value == "Arbetslöshet" and len(at.get("vega_lite_chart")) >= 1  # the local build


def test_a_failed_publish_names_no_secret(data_dir, monkeypatch):
    secret = "sig=S3CRET"

    class Refuses:
        type_name = "abfs"

        def open_output_stream(self, path, *args, **kwargs):
            raise OSError(f"PUT http://127.0.0.1:1/acct/{path}?sv=2021-06-08&{secret} failed: 403")

    remote = storage.ObjectStore(f"abfs://acct@127.0.0.1:1/c/store?sv=2021-06-08&{secret}", Refuses(), "c/store")
    monkeypatch.setattr(storage, "object_store", lambda: remote)
    with pytest.raises(storage.StorageError) as raised:
        storage.publish(build().path)
    assert "S3CRET" not in str(raised.value) and "403" in str(raised.value)


def test_a_store_that_does_not_answer_is_reported_without_its_address(data_dir, monkeypatch, caplog):
    from apptest_helpers import run_page

    from amnstats.ui import state

    build()
    monkeypatch.setenv(storage.ENV, "s3://bucket/store?endpoint_override=127.0.0.1:1&scheme=http")

    def refused():
        raise OSError("GET http://127.0.0.1:1/bucket/store/CURRENT?X-Amz-Signature=S3CRET: connection refused")
    monkeypatch.setattr(storage, "current_remote_build", refused)
    monkeypatch.setattr(storage, "ensure_published", lambda build_dir: None)  # the writer's side: see above
    monkeypatch.setattr(state, "_logged", {})
    with caplog.at_level("ERROR", logger="amnstats.ui.state"):
        at = run_page("arbetsloshet")
        at.run()  # a second run: warned again, logged once
    assert not at.exception
    [warning] = [w.value for w in at.warning if "delade lagringen" in w.value]
    assert "svarar inte eller nekar åtkomst" in warning and "S3CRET" not in warning and "127.0.0.1" not in warning
    logged = [r.getMessage() for r in caplog.records if "object storage unreadable" in r.getMessage()]
    assert len(logged) == 1 and "connection refused" in logged[0] and "S3CRET" not in logged[0]



def test_erasing_an_upload_removes_the_published_builds_that_hold_its_rows(remote_store, data_dir):
    from amnstats import imports
    from test_imports import af_csv, mapping_for

    before = build().path.name
    data = af_csv()
    import_id = imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t").record["id"]
    with_upload = remote_store.current_id()
    assert with_upload != before and import_id in remote_store.read_manifest(with_upload)["uploads"]
    imports.undo(import_id, by="t")
    current = remote_store.current_id()
    assert {before, with_upload, current} <= _builds_with_files(remote_store)  # kept for readers until erased
    imports.erase(import_id, by="t")
    assert with_upload not in _builds_with_files(remote_store)
    assert {before, current} <= _builds_with_files(remote_store) and remote_store.current_id() == current


def test_a_store_that_does_not_take_an_import_leaves_everything_as_it_was(s3_store, data_dir, monkeypatch):
    from amnstats import imports
    from amnstats.problems import InputError
    from test_imports import af_csv, mapping_for, snapshot

    first = build()
    data = af_csv()
    mapping = mapping_for(data, "af.csv")
    before = snapshot(data_dir)

    def refuse(build_dir):
        raise storage.StorageError("bygget kunde inte publiceras till s3://amnstats/store: connection reset")

    monkeypatch.setattr(storage, "publish", refuse)
    with pytest.raises(InputError) as raised:  # a Swedish message for the page, not a traceback
        imports.commit(data, "af.csv", mapping, uploaded_by="t")
    assert raised.value.headline == "Importen kunde inte sparas"
    assert "kunde inte publiceras" in raised.value.problems[0].message
    assert "Inget har ändrats" in raised.value.problems[0].message
    assert current_build() == first.path and s3_store.current_id() == first.path.name
    assert imports.history() == [] and snapshot(data_dir) == before
