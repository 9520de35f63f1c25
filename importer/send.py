"""Send chunks of records to the API and account for every record's outcome.

``send_chunks`` POSTs chunk bodies over one pooled ``httpx.AsyncClient`` with a fixed number of
requests in flight, and files every record under exactly one outcome:

* accepted — the API answered 2xx for a request holding it;
* rejected — the API answered 400 naming it (``data[i]...`` in ``errors``, as a list of strings or a
  dictionary), or it was alone in a request answered 400/413. A 400 stores nothing, so the other
  records of that request are sent again; when the answer names no record, the request is split in
  halves until the bad records are isolated;
* failed — anything else (5xx, 429, a network error): valid, but not in the platform.

A 401/403 aborts the run: no new request is started and those in flight are cancelled; whatever was
not answered is left unaccounted, for the caller to report as failed. This module knows nothing of
files or rows beyond the row ids it is given, and never logs the key or record contents.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from importer import __version__
from importer.encode import Chunk, make_body
from importer.settings import ApiSettings

_INDEXED = re.compile(r"^\$?\.?data\[(\d+)\]\.?(.*)$", re.IGNORECASE)


@dataclass
class ApiErrorEvent:
    """One error answer of the API, for errors.jsonl."""

    chunk: int
    status: int | None
    response: Any  # the parsed problem details, the text, or the transport error
    row_ids: list[int]
    records: list[str]


@dataclass
class Outcomes:
    """Where every sent record ended up; row ids per outcome."""

    accepted: list[list[int]] = field(default_factory=list)
    rejected: list[tuple[list[int], str, str]] = field(default_factory=list)  # rows, field, error
    failed: list[tuple[list[int], str]] = field(default_factory=list)  # rows, error
    requests: int = 0
    records_sent: int = 0
    aborted: str | None = None


class _Abort(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_record_errors(problem: Any, count: int) -> dict[int, list[tuple[str, str]]]:
    """``{record index: [(field path, message)]}`` from a 400's ``errors`` (list, dict, or absent)."""
    errors = problem.get("errors") if isinstance(problem, dict) else None
    pairs: list[tuple[str, str]] = []
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, str):
                path, _, message = item.partition(": ")
                pairs.append((path, message or path))
    elif isinstance(errors, dict):
        for path, messages in errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                pairs.append((str(path), str(message)))
    found: dict[int, list[tuple[str, str]]] = {}
    for path, message in pairs:
        match = _INDEXED.match(path.strip())
        if match and int(match.group(1)) < count:
            found.setdefault(int(match.group(1)), []).append((match.group(2), message))
    return found


def describe_problem(status: int, problem: Any) -> str:
    """One line for a non-2xx answer: status, title/detail and the errors, without the request."""
    if not isinstance(problem, dict):
        text = str(problem).strip().replace("\n", " ")[:200]
        return f"HTTP {status}" + (f": {text}" if text else "")
    parts = [str(problem[k]) for k in ("title", "detail") if problem.get(k)]
    errors = problem.get("errors")
    if isinstance(errors, list):
        parts += [str(e) for e in errors]
    elif isinstance(errors, dict):
        parts += [f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()]
    return f"HTTP {status}: " + "; ".join(parts) if parts else f"HTTP {status}"


class Sender:
    """Delivers chunks for one run; the outcome of every record lands in ``outcomes``."""

    def __init__(
        self,
        api: ApiSettings,
        path: str,
        envelope: dict[str, str],
        on_error: Callable[[ApiErrorEvent], None],
        progress: tqdm | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api, self.path, self.envelope = api, path, envelope
        self.on_error = on_error
        self.progress = progress
        self.transport = transport  # tests inject answers a server cannot give on demand
        self.outcomes = Outcomes()

    async def run(self, chunks: Iterable[Chunk]) -> Outcomes:
        if self.api.key is None:
            raise ValueError("an API key is required to send")
        headers = {
            "x-api-key": self.api.key.reveal(),
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"ecdp-importer/{__version__}",
        }
        limits = httpx.Limits(max_connections=self.api.concurrency, max_keepalive_connections=self.api.concurrency)
        pending = iter(chunks)
        async with httpx.AsyncClient(
            base_url=self.api.url, headers=headers, timeout=self.api.timeout_s, limits=limits, transport=self.transport
        ) as client:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(max(1, self.api.concurrency)):
                        group.create_task(self._worker(client, pending))
            except* _Abort as aborted:
                self.outcomes.aborted = aborted.exceptions[0].reason  # type: ignore[attr-defined]
        return self.outcomes

    async def _worker(self, client: httpx.AsyncClient, pending: Iterable[Chunk]) -> None:
        for chunk in pending:
            self.outcomes.records_sent += len(chunk.records)
            await self._deliver(client, chunk.index, chunk.records, chunk.row_ids)

    async def _deliver(
        self, client: httpx.AsyncClient, index: int, records: list[str], row_ids: list[list[int]]
    ) -> None:
        status, problem = await self._post(client, index, records, row_ids)
        if status is not None and 200 <= status < 300:
            self.outcomes.accepted.extend(row_ids)
            self._advance(len(records))
            return
        if status in (401, 403):
            raise _Abort(
                f"the API rejected the key (HTTP {status}); no further requests were sent"
            )
        if status == 400:
            named = parse_record_errors(problem, len(records))
            if named:
                for i, errs in named.items():
                    self._reject(row_ids[i], errs)
                rest = [i for i in range(len(records)) if i not in named]
                if rest:
                    await self._deliver(client, index, [records[i] for i in rest], [row_ids[i] for i in rest])
                return
        if status in (400, 413):
            if len(records) == 1:
                message = describe_problem(status, problem)
                if status == 413:
                    message = "the record alone is larger than the API accepts (HTTP 413)"
                self._reject(row_ids[0], [("", message)])
                return
            half = len(records) // 2
            await self._deliver(client, index, records[:half], row_ids[:half])
            await self._deliver(client, index, records[half:], row_ids[half:])
            return
        reason = describe_problem(status, problem) if status is not None else str(problem)
        self.outcomes.failed.extend((rids, reason) for rids in row_ids)
        self._advance(len(records))

    async def _post(
        self, client: httpx.AsyncClient, index: int, records: list[str], row_ids: list[list[int]]
    ) -> tuple[int | None, Any]:
        body = make_body(self.envelope, records)
        self.outcomes.requests += 1
        try:
            response = await client.post(self.path, content=body)
        except httpx.TransportError as exc:
            problem: Any = f"network error: {type(exc).__name__}: {exc}".rstrip(": ")
            self.on_error(ApiErrorEvent(index, None, problem, _flat(row_ids), records))
            return None, problem
        if response.is_success:
            return response.status_code, None
        try:
            problem = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            problem = response.text
        self.on_error(ApiErrorEvent(index, response.status_code, problem, _flat(row_ids), records))
        return response.status_code, problem

    def _reject(self, row_ids: list[int], errors: list[tuple[str, str]]) -> None:
        fields = ";".join(dict.fromkeys(path for path, _ in errors if path))
        message = "; ".join(f"{path}: {msg}" if path else msg for path, msg in errors)
        self.outcomes.rejected.append((row_ids, fields, message))
        self._advance(1)

    def _advance(self, count: int) -> None:
        if self.progress is not None:
            self.progress.update(count)


def _flat(row_ids: list[list[int]]) -> list[int]:
    return [rid for rids in row_ids for rid in rids]


def progress_bar(total: int, enabled: bool) -> tqdm | None:
    """A records bar on a terminal; None when disabled or stderr is not a TTY (cron, pipes)."""
    if not enabled or not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="rec", desc="sending", file=sys.stderr, dynamic_ncols=True)
