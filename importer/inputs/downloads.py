"""Downloads of the objects a run reads from object storage or the web, streamed into a local file.

``download(url, target)`` writes the object a block (1 MB) at a time, so memory stays flat whatever its
size. Each store uses its well-kept client, installed with an extra, and finds credentials the way that
client always does, never from the command line:

* ``s3://`` — botocore (extra ``[s3]``): ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
  ``AWS_PROFILE`` and ``~/.aws``, instance and container roles; ``AWS_ENDPOINT_URL`` (or
  ``AWS_ENDPOINT_URL_S3``) for an S3-compatible store (MinIO, Ceph, R2). botocore alone, not s3fs: the
  object is read once from start to end, and s3fs' asynchronous stack costs more peak memory;
* ``gs://`` (``gcs://``) — fsspec with gcsfs (extra ``[gcs]``): ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's
  login, the metadata server;
* ``az://`` (``abfs://``, ``abfss://``) — fsspec with adlfs (extra ``[azure]``): ``AZURE_STORAGE_ACCOUNT_NAME``
  with ``AZURE_STORAGE_ACCOUNT_KEY``, ``AZURE_STORAGE_CONNECTION_STRING`` or ``AZURE_STORAGE_SAS_TOKEN``, or
  Azure's default credential chain;
* ``https://`` (``http://``) — httpx, following redirects; a presigned URL works, and its query (which
  holds the signature) is never shown: ``public_url(url)`` (``importer.settings``) is what messages
  and reports name.

A failed download is one ``InputError`` naming the object and what to check; nothing was sent.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

from importer import scratch
from importer.errors import InputError
from importer.settings import public_url

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
BLOCK = 1 << 20
EXTRAS = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}
WEB = ("http", "https")
_CREDENTIALS_HINT = {
    "s3": "Check the AWS credentials in the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL for an "
    "S3-compatible store) and the object's permissions.",
    "gcs": "Check GOOGLE_APPLICATION_CREDENTIALS (or gcloud's login) and the object's permissions.",
    "azure": "Check AZURE_STORAGE_ACCOUNT_NAME with its key, connection string or SAS token, and the permissions.",
}


def is_url(source: object) -> bool:
    """A text that starts with a scheme (``s3://…``), not a local path."""
    return isinstance(source, str) and bool(_URL.match(source))


def download(url: str, target: Path) -> Path:
    """The object at ``url`` streamed into ``target`` (a new file, owner-only), a block at a time."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in WEB and scheme not in EXTRAS:
        raise InputError(
            f"Cannot read {public_url(url)}: {scheme}:// is not a source the importer reads.",
            "Use a local path, s3://, gs://, az:// or https://.",
        )
    with open(scratch.private_file(target), "wb") as out:
        if scheme in WEB:
            _fetch_web(url, out)
        elif scheme == "s3":
            _fetch_s3(url, out)
        else:
            _fetch_fsspec(url, EXTRAS[scheme], out)
    return target


def _fetch_web(url: str, out: IO[bytes]) -> None:
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            if response.status_code != 200:
                raise InputError(
                    f"Cannot read {public_url(url)}: HTTP {response.status_code}.",
                    "Check the URL (a presigned one may have expired).",
                )
            for block in response.iter_bytes(BLOCK):
                out.write(block)
    except httpx.HTTPError as exc:
        raise InputError(
            f"Cannot read {public_url(url)}: {type(exc).__name__}.", "Check the URL and the network."
        ) from None


def _missing_extra(scheme: str, extra: str) -> InputError:
    return InputError(
        f"Reading {scheme}:// needs the importer's {extra} extra.", f"Install it: pip install 'ecdp-importer[{extra}]'."
    )


def _fetch_s3(url: str, out: IO[bytes]) -> None:
    try:
        import botocore.session
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise _missing_extra("s3", "s3") from None
    parts = urlsplit(url)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise InputError(f"{public_url(url)} names no object.", "Write it as s3://bucket/path/to/file.csv.gz.")
    try:
        client: Any = botocore.session.get_session().create_client("s3")
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        for block in body.iter_chunks(BLOCK):
            out.write(block)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise InputError(
                f"{public_url(url)} does not exist ({code}).", "Check the bucket and the object's name."
            ) from None
        raise InputError(f"Cannot read {public_url(url)}: {code or _reason(exc)}.", _CREDENTIALS_HINT["s3"]) from None
    except BotoCoreError as exc:
        raise InputError(f"Cannot read {public_url(url)}: {_reason(exc)}.", _CREDENTIALS_HINT["s3"]) from None


def _fetch_fsspec(url: str, extra: str, out: IO[bytes]) -> None:
    try:
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(url)
    except ImportError:
        raise _missing_extra(url.split("://", 1)[0], extra) from None
    try:
        with filesystem.open(path, "rb", block_size=8 * BLOCK) as stream:
            shutil.copyfileobj(stream, out, BLOCK)
    except FileNotFoundError:
        raise InputError(f"{public_url(url)} does not exist.", "Check the container and the object's name.") from None
    except (OSError, ValueError, PermissionError) as exc:  # what fsspec's stores raise for a refused read
        raise InputError(f"Cannot read {public_url(url)}: {_reason(exc)}.", _CREDENTIALS_HINT[extra]) from None


def _reason(exc: BaseException) -> str:
    """The error's first line, without a URL's query (credentials never reach a message)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"\?\S*", "", text)[:300]
