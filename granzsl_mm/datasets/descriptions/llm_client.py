"""Minimal client of an OpenAI-compatible chat-completions endpoint.

Standard library only (``urllib``); transient failures are raised as
:class:`RetryableError` so that callers can back off and retry.
"""
import json
import socket
import urllib.error
import urllib.request
from typing import List, Optional

__all__ = ['RetryableError', 'MalformedReply', 'ChatCompletionsClient']


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
        timeout (float): Seconds per request.
        temperature (float): Sampling temperature.
        extra_body (dict, optional): Extra request fields (e.g.
            ``{"response_format": {"type": "json_object"}}``).
    """

    def __init__(self, base_url: str, model: str,
                 api_key: Optional[str] = None, timeout: float = 120.0,
                 temperature: float = 0.2,
                 extra_body: Optional[dict] = None) -> None:
        self.url = base_url.rstrip('/') + '/chat/completions'
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})

    def complete(self, messages: List[dict]) -> str:
        """Send one chat request; return the first choice's content.

        Args:
            messages (list[dict]): Chat messages (``role``, ``content``).

        Returns:
            str: The assistant message content.

        Raises:
            RetryableError: On 429 / 5xx / timeout / connection failure.
            MalformedReply: If the response is not a chat completion.
            urllib.error.HTTPError: On other HTTP errors (not retried).
        """
        body = {'model': self.model, 'messages': messages,
                'temperature': self.temperature, **self.extra_body}
        headers = {'Content-Type': 'application/json'}
        if self.api_key:
            headers['Authorization'] = f'Bearer {self.api_key}'
        req = urllib.request.Request(self.url, json.dumps(body).encode(),
                                     headers, method='POST')
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
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
