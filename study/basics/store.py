"""A study's shared storage (``--storage``): a folder on any file system ``pyarrow.fs`` knows (the one Ray's own
storage uses), or a plain path, read and written by key (``checkpoints/LSTM-T10-s0-ab12.pt``); which URIs, where
credentials come from and why its writes are atomic: docs/storage.md."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from palrnn.io import write_bytes_atomic

# Query keys of a URI that would put a secret into study.json, the command line and its logs.
SECRET_KEYS = ("access_key", "secret_key", "session_token")
BUCKETED = ("s3", "gs", "gcs")  # schemes whose file system paths are bucket/key


def has_scheme(uri: str) -> bool:
    return "://" in str(uri)


def credentials_in(uri: str) -> str | None:
    """What in ``uri`` is a credential (user info, or a secret query key), or None."""
    if not has_scheme(uri):
        return None
    parts = urlsplit(uri)
    if parts.username or parts.password:
        return "user info before the bucket or host"
    keys = [k for k, _ in parse_qsl(parts.query) if k.lower() in SECRET_KEYS]
    return f"the query key {keys[0]!r}" if keys else None


@functools.lru_cache(maxsize=32)
def _filesystem(uri: str) -> tuple[Any, str]:
    """(pyarrow file system, the root's path on it) for a URI; one file system per URI and process."""
    import pyarrow.fs as pafs

    return pafs.FileSystem.from_uri(uri)


@dataclass(frozen=True)
class Store:
    """A folder on a file system, by URI or path. Pickles as its URI."""

    uri: str

    def __post_init__(self) -> None:
        if not has_scheme(self.uri):
            object.__setattr__(self, "uri", str(Path(self.uri)))

    @property
    def local(self) -> Path | None:
        """The root as a local path (a plain path or a ``file://`` URI), else None."""
        if not has_scheme(self.uri):
            return Path(self.uri)
        parts = urlsplit(self.uri)
        return Path(parts.path) if parts.scheme == "file" else None

    @property
    def remote(self) -> bool:
        return self.local is None

    def child(self, *parts: str) -> Store:
        """The store of a folder under this one (``Store("s3://b/p").child("study")``: ``s3://b/p/study``)."""
        parts = tuple(str(p).strip("/") for p in parts if str(p).strip("/"))
        if not has_scheme(self.uri):
            return Store(str(Path(self.uri, *parts)))
        split = urlsplit(self.uri)
        path = "/".join([split.path.rstrip("/"), *parts])
        return Store(urlunsplit((split.scheme, split.netloc, path, split.query, split.fragment)))

    def uri_of(self, key: str) -> str:  # for messages
        return self.child(key).uri

    def path(self, key: str) -> Path:  # only for a local store
        assert self.local is not None, "not a local store"
        return self.local / key

    @property
    def filesystem(self) -> Any:
        """The pyarrow file system (a local store's: pyarrow's LocalFileSystem)."""
        if self.local is not None:
            import pyarrow.fs as pafs

            return pafs.LocalFileSystem()
        return _filesystem(_base(self.uri))[0]

    @property
    def root(self) -> str:
        """The root's path on ``filesystem`` (for an S3 store: ``bucket/prefix``)."""
        if self.local is not None:
            return str(self.local.resolve())
        split = urlsplit(self.uri)
        if split.scheme in BUCKETED:  # bucket/prefix, without building a file system for each folder
            return f"{split.netloc}{split.path}".rstrip("/")
        return _filesystem(self.uri)[1].rstrip("/")

    def _full(self, key: str) -> str:
        return str(PurePosixPath(self.root, key)) if key else self.root

    def read(self, key: str) -> bytes:
        """The bytes of ``key``; FileNotFoundError when there is none."""
        if self.local is not None:
            return self.path(key).read_bytes()
        if not self.exists(key):
            raise FileNotFoundError(self.uri_of(key))
        with self.filesystem.open_input_stream(self._full(key)) as f:
            return f.read()

    def write(self, key: str, data: bytes) -> None:
        """``key`` holds exactly ``data`` afterwards, or (after a failure) what it held before."""
        if self.local is not None:
            target = self.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, data)
            return
        fs, full = self.filesystem, self._full(key)
        name = PurePosixPath(full)
        tmp = str(name.with_name(f".{name.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"))
        try:
            with fs.open_output_stream(tmp) as f:
                f.write(data)
            fs.move(tmp, full)
        except BaseException:
            with contextlib.suppress(Exception):  # never written, or the store is gone: nothing to clean
                fs.delete_file(tmp)
            raise

    def exists(self, key: str) -> bool:
        import pyarrow.fs as pafs

        return self.filesystem.get_file_info(self._full(key)).type == pafs.FileType.File

    def entries(self, prefix: str = "") -> list[tuple[str, int, int]]:
        """(key, size, modification time in ns or 0) of every file under ``prefix``, sorted by key;
        none when there is no such folder. Temporary files of writes in progress are left out."""
        import pyarrow.fs as pafs

        fs, base = self.filesystem, self.root
        selector = pafs.FileSelector(self._full(prefix), recursive=True, allow_not_found=True)
        out = []
        for info in fs.get_file_info(selector):
            if info.type != pafs.FileType.File or (info.base_name.startswith(".") and info.base_name.endswith(".tmp")):
                continue
            key = str(PurePosixPath(info.path).relative_to(base))
            out.append((key, int(info.size or 0), int(info.mtime_ns or 0)))
        return sorted(out)

    def list(self, prefix: str = "") -> list[str]:
        return [key for key, _, _ in self.entries(prefix)]

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_file(self._full(key))

    def upload(self, folder: str | os.PathLike[str], prefix: str = "") -> int:
        """Copy every file under a local ``folder`` to ``prefix`` here (each write atomic), but for
        hidden ones (a name starting with ``.``: a lock, a write in progress). Returns how many it copied."""
        folder = Path(folder)
        files = [p.relative_to(folder) for p in sorted(folder.rglob("*")) if p.is_file()]
        files = [f for f in files if not any(part.startswith(".") for part in f.parts)]
        for relative in files:
            self.write(str(PurePosixPath(prefix, relative.as_posix())), (folder / relative).read_bytes())
        return len(files)


def _base(uri: str) -> str:
    """The URI of the file system alone (its path dropped): one pyarrow file system per endpoint and bucket."""
    split = urlsplit(uri)
    return urlunsplit((split.scheme, split.netloc, "", split.query, ""))


MARKER = ".storage-check"  # the key a check writes, reads back and removes


def open_storage(uri: str, option: str = "--storage") -> Store:
    """The store ``option`` names; a StudyError naming the option for a value that cannot work whatever the
    cluster. Nothing is read or written (``check_storage`` does that)."""
    from study.basics.errors import StudyError, first_line

    uri = str(uri).strip()
    if not uri:
        raise StudyError(f"{option}: empty; give an s3://bucket/prefix URI, another pyarrow.fs URI, or a path")
    secret = credentials_in(uri)
    if secret is not None:
        raise StudyError(f"{option}: {uri.split('://')[0]}:// URI holds a credential ({secret}); give credentials "
                         "in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), "
                         "never in the URI, which study.json records")
    store = Store(uri)
    if store.remote and urlsplit(uri).scheme in BUCKETED:  # its file system may ask the network (a bucket's region)
        if not urlsplit(uri).netloc:
            raise StudyError(f"{option}: {uri} names no bucket; give {urlsplit(uri).scheme}://bucket/prefix")
    elif store.remote:
        try:
            _filesystem(_base(uri))
        except Exception as exc:  # ArrowInvalid: unrecognized scheme, a bad query key or value
            raise StudyError(f"{option}: {uri} is not a storage pyarrow.fs knows ({first_line(exc)}); "
                             "give s3://bucket/prefix, another pyarrow.fs URI, or a path") from None
    return store


def check_storage(store: Store, option: str = "--storage") -> None:
    """Write, read back and remove a marker in ``store``; a StudyError naming the option and what went wrong
    when it cannot."""
    from study.basics.errors import StudyError, first_line

    try:
        bucket = _missing_bucket(store)
    except Exception as exc:  # the file system cannot be made: an endpoint that does not answer, a bad query
        raise StudyError(f"{option}: cannot reach {store.uri} ({first_line(exc)})") from None
    if bucket is not None:
        raise StudyError(f"{option}: bucket {bucket!r} does not exist at {endpoint_of(store)}; create it first")
    marker = secrets.token_hex(8).encode()
    try:
        store.write(MARKER, marker)
        back = store.read(MARKER)
        store.delete(MARKER)
    except Exception as exc:
        with contextlib.suppress(Exception):  # no right to: the message below says why
            store.delete(MARKER)  # where the write went through and the read did not
        hint = ("; are credentials set in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE)?") if _denied(exc) else ""
        raise StudyError(f"{option}: cannot write and read back {store.uri} ({first_line(exc)}){hint}") from None
    if back != marker:
        raise StudyError(f"{option}: {store.uri} gave back other bytes than were written to it")


def _missing_bucket(store: Store) -> str | None:
    """An S3 store's bucket when the service says it does not exist, else None."""
    if not (store.remote and urlsplit(store.uri).scheme == "s3"):
        return None
    import pyarrow.fs as pafs

    bucket = urlsplit(store.uri).netloc
    try:
        return bucket if store.filesystem.get_file_info(bucket).type == pafs.FileType.NotFound else None
    except OSError:  # no right to look: the write below says so
        return None


def _denied(exc: BaseException) -> bool:
    text = str(exc).upper()
    return any(word in text for word in ("ACCESS_DENIED", "ACCESSDENIED", "FORBIDDEN", "CREDENTIAL", "SIGNATURE"))


def endpoint_of(store: Store) -> str:
    query = dict(parse_qsl(urlsplit(store.uri).query))
    return query.get("endpoint_override") or os.environ.get("AWS_ENDPOINT_URL") or "the default endpoint"


def study_store(storage: str | None, folder: str | os.PathLike[str]) -> Store:
    """Where a study's trials keep what they share: ``<storage>/<study name>`` with --storage, else
    the study folder itself (as an absolute path, the same from every process)."""
    if storage:
        return Store(storage).child(Path(folder).name)
    return Store(str(Path(folder).resolve()))
