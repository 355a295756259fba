"""Minimal client of an OpenAI-compatible chat-completions endpoint.

Standard library only (``urllib``); transient failures are raised as
:class:`RetryableError` so that callers can back off and retry.

A reply is bounded in time and size: ``timeout`` is a deadline for the whole
response (a server that trickles one byte a second is cut off when it
passes, not after each read), and a reply over ``max_reply_bytes`` (default
8 MiB; a description object is a few KiB) is dropped unread past the cap.
Both count as failed attempts of that class, retried and resumable like the
others.
"""
import json
import socket
import time
import urllib.error
import urllib.request
from typing import List, Optional

__all__ = ['RetryableError', 'MalformedReply', 'ChatCompletionsClient',
           'MAX_REPLY_BYTES']

MAX_REPLY_BYTES = 8 << 20


class RetryableError(RuntimeError):
    """A transient failure (429, 5xx, timeout, connection error)."""

    def __init__(self, message: str, retry_after: Optional[float] = None):
        super().__init__(message)
        self.retry_after = retry_after


class MalformedReply(ValueError):
    """The reply is not a valid description object (retried)."""


class ChatCompletionsClient:
    """Minimal client of an OpenAI-compatible chat-completions endpoint.

    Args:
        base_url (str): E.g. ``http://localhost:8000/v1``.
        model (str): Model name sent with each request.
        api_key (str, optional): Sent as a bearer token when given.
        timeout (float): Deadline in seconds for one whole request (sending,
            waiting and reading the reply).
        temperature (float): Sampling temperature.
        extra_body (dict, optional): Extra request fields (e.g.
            ``{"response_format": {"type": "json_object"}}``).
        max_reply_bytes (int): Largest reply read.
    """

    def __init__(self, base_url: str, model: str,
                 api_key: Optional[str] = None, timeout: float = 120.0,
                 temperature: float = 0.2,
                 extra_body: Optional[dict] = None,
                 max_reply_bytes: int = MAX_REPLY_BYTES) -> None:
        self.url = base_url.rstrip('/') + '/chat/completions'
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})
        self.max_reply_bytes = int(max_reply_bytes)

    def _read(self, resp, deadline: float) -> bytes:
        """The reply's bytes, within the deadline and the size cap."""
        chunks, total = [], 0
        while True:
            if time.monotonic() > deadline:
                raise RetryableError(
                    f'no complete reply from {self.url} within '
                    f'{self.timeout:g} s ({total} bytes received)')
            chunk = resp.read1(65536)  # what arrived, at most one read
            if not chunk:
                return b''.join(chunks)
            total += len(chunk)
            if total > self.max_reply_bytes:
                raise MalformedReply(
                    f'reply from {self.url} is larger than '
                    f'{self.max_reply_bytes} bytes; not read further')
            chunks.append(chunk)

    def complete(self, messages: List[dict]) -> str:
        """Send one chat request; return the first choice's content.

        Args:
            messages (list[dict]): Chat messages (``role``, ``content``).

        Returns:
            str: The assistant message content.

        Raises:
            RetryableError: On 429 / 5xx / timeout / connection failure, or
                no complete reply before the deadline.
            MalformedReply: If the response is not a chat completion, or is
                larger than ``max_reply_bytes``.
            urllib.error.HTTPError: On other HTTP errors (not retried).
        """
        body = {'model': self.model, 'messages': messages,
                'temperature': self.temperature, **self.extra_body}
        headers = {'Content-Type': 'application/json'}
        if self.api_key:
            headers['Authorization'] = f'Bearer {self.api_key}'
        req = urllib.request.Request(self.url, json.dumps(body).encode(),
                                     headers, method='POST')
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = self._read(resp, deadline)
        except urllib.error.HTTPError as e:
            if e.code == 429 or e.code >= 500:
                after = e.headers.get('Retry-After') if e.headers else None
                raise RetryableError(
                    f'HTTP {e.code} from {self.url}',
                    float(after) if after and after.isdigit() else None
                ) from e
            raise
        except (urllib.error.URLError, socket.timeout, TimeoutError,
                ConnectionError) as e:
            raise RetryableError(f'{type(e).__name__}: {e}') from e
        try:
            return json.loads(raw)['choices'][0]['message']['content']
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise MalformedReply(f'not a chat completion: {raw[:200]!r}') \
                from e
