"""HTTP for the connectors: timeouts on every call, a call-rate limiter, retries with
exponential backoff on transient failures, and Swedish errors.

Transient (retried): connection errors, timeouts, broken transfers, HTTP 429 and 5xx, and
HTTP 403 when the source uses it for rate limiting (SCB's v1 API did); 403/429 wait as long
as `Retry-After` says (capped). Anything else (400, 404, ...) fails at once. After the last
try the caller gets a NetworkError such as

    Kunde inte nå SCB (statistikdatabasen.scb.se): ingen anslutning (...). Inget har ändrats.

Time never passes for real in tests: `clock` and `sleep` are injectable.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlencode, urlsplit

import requests

from .errors import FormatError, NetworkError, RateLimitError

USER_AGENT = "amnstats (Stockholms stad, arbetsmarknadsnämndens statistik)"


class RateLimiter:
    """At most `max_calls` calls in any window of `per_seconds` (a sliding window).
    `acquire()` sleeps until a call is allowed. Thread-safe: the dashboard's sessions share one."""

    def __init__(self, max_calls: int, per_seconds: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if max_calls < 1 or per_seconds <= 0:
            raise ValueError("max_calls >= 1 and per_seconds > 0")
        self.max_calls, self.per_seconds = max_calls, per_seconds
        self.clock, self.sleep = clock, sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Seconds until the next call is allowed (0 when it is now)."""
        now = self.clock()
        while self._calls and now - self._calls[0] >= self.per_seconds:
            self._calls.popleft()
        if len(self._calls) < self.max_calls:
            return 0.0
        return self._calls[0] + self.per_seconds - now

    def acquire(self) -> float:
        """Block until a call may be made, record it; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while (delay := self.wait_time()) > 0:
                self.sleep(delay)
                waited += delay
            self._calls.append(self.clock())
        return waited


_LIMITERS: dict[tuple[str, int, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(host: str, max_calls: int, per_seconds: float) -> RateLimiter:
    """One limiter per host and limit for the whole process (CLI run or dashboard)."""
    key = (host, max_calls, per_seconds)
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(max_calls, per_seconds)
        return _LIMITERS[key]


@dataclass(frozen=True)
class Call:
    """One answered call, as kept in fetch.json: what was asked and what came back."""

    url: str            # the full URL with its query string, readable (not percent-encoded)
    params: dict        # the query parameters as sent
    status: int
    content_type: str
    body: bytes = field(repr=False)
    at: str = ""

    def json(self, source: str):
        try:
            return json.loads(self.body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"Svaret från {source} gick inte att läsa som JSON; det kan vara avbrutet eller "
                              f"i ett nytt format ({exc.__class__.__name__}: {str(exc)[:120]}). Anrop: {self.url}") \
                from None


def readable_url(url: str, params: dict | None = None) -> str:
    """URL and parameters as one readable string: brackets and commas not percent-encoded."""
    if not params:
        return unquote(url)
    return f"{url}?{unquote(urlencode(params))}"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _retry_after(response: requests.Response, fallback: float, cap: float) -> float:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return min(float(value), cap)
    if value:
        try:
            delta = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
            return min(max(delta, 0.0), cap)
        except (TypeError, ValueError):
            pass
    return min(fallback, cap)


def _name_not_resolved(exc: BaseException) -> bool:
    """A DNS failure somewhere in the exception chain (urllib3's NameResolutionError or socket.gaierror)."""
    seen = 0
    todo: list[BaseException | None] = [exc]
    while todo and seen < 20:
        e = todo.pop()
        if e is None:
            continue
        seen += 1
        if isinstance(e, socket.gaierror) or e.__class__.__name__ == "NameResolutionError":
            return True
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return False


class HttpClient:
    """GET with limiter, timeouts and retries. `source` names the source in messages
    ('SCB'), `host` is shown beside it ('statistikdatabasen.scb.se')."""

    def __init__(self, source: str, *, limiter: RateLimiter | None = None, session: requests.Session | None = None,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0, retries: int = 3,
                 backoff: float = 2.0, max_wait: float = 60.0, sleep: Callable[[float], None] = time.sleep):
        self.source = source
        self.limiter = limiter
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.timeout = (connect_timeout, read_timeout)
        self.retries, self.backoff, self.max_wait, self.sleep = retries, backoff, max_wait, sleep
        self.calls: list[Call] = []

    def _fail(self, host: str, reason: str) -> NetworkError:
        return NetworkError(f"Kunde inte nå {self.source} ({host}): {reason}")

    def get(self, url: str, params: dict | None = None, *, accept: str = "") -> Call:
        host = urlsplit(url).hostname or url
        headers = {"Accept": accept} if accept else {}
        last = ""
        for attempt in range(self.retries + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            wait = self.backoff * (2 ** attempt)
            try:
                response = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
                body = response.content  # reads the whole body: a broken transfer raises here
            except requests.exceptions.Timeout:
                last = (f"inget svar inom tidsgränsen ({self.timeout[0]:g} s för anslutning, "
                        f"{self.timeout[1]:g} s för svar)")
            except requests.exceptions.ConnectionError as exc:
                if _name_not_resolved(exc):  # no network at all: waiting will not help
                    raise self._fail(host, f"namnet {host} kunde inte slås upp – datorn verkar sakna "
                                           "nätverksanslutning") from None
                last = f"ingen anslutning – nätverket eller servern svarar inte ({exc.__class__.__name__})"
            except requests.exceptions.ChunkedEncodingError:
                last = "svaret avbröts under överföringen"
            except requests.exceptions.RequestException as exc:
                last = f"anropet misslyckades ({exc.__class__.__name__}: {str(exc)[:120]})"
            else:
                status = response.status_code
                if status == 200:
                    call = Call(readable_url(url, params), dict(params or {}), status,
                                response.headers.get("Content-Type", ""), body, _now())
                    self.calls.append(call)
                    return call
                if status in (403, 429):
                    last = f"{self.source} begränsar antalet anrop (HTTP {status})"
                    wait = _retry_after(response, wait, self.max_wait)
                elif status >= 500:
                    last = f"servern svarade med ett fel (HTTP {status})"
                elif status == 404:
                    raise self._fail(host, f"adressen finns inte (HTTP 404): {readable_url(url, params)}")
                else:
                    detail = body[:300].decode("utf-8", "replace").strip()
                    raise self._fail(host, f"frågan avvisades (HTTP {status}){': ' + detail if detail else ''}; "
                                           f"anrop: {readable_url(url, params)}")
            if attempt < self.retries:
                self.sleep(min(wait, self.max_wait))
        tries = f"efter {self.retries + 1} försök" if self.retries else ""
        if last.startswith(f"{self.source} begränsar"):
            raise RateLimitError(f"Kunde inte hämta från {self.source} ({host}): {last} {tries}. Försök igen om en "
                                 "stund")
        raise self._fail(host, f"{last} {tries}".strip())
