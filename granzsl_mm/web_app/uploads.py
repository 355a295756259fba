"""The web app's door for HTTP request bodies: image uploads only, bounded.

:class:`UploadDoor` is a plain ASGI middleware in front of gradio's app.
Every request body passes through it:

* **Deny by default.** Only the upload routes it is given (gradio's
  ``/gradio_api/upload``) take a multipart (file) body; any other route
  that receives one is answered 415 before gradio reads it (gradio parses
  multipart files on several routes, e.g. ``/gradio_api/process_recording``
  and the component server).
* **The name gradio stores.** An upload is parsed by the parser gradio
  uses (``python_multipart``, with gradio's rules: the last
  ``Content-Disposition`` header of a part and the last ``filename=`` of
  that header win), and the name is reduced as gradio reduces it before
  storing (:func:`stored_upload_name`). That name must end with an image
  suffix and the part's bytes must start with an image signature; else the
  whole request is refused (415). A part headed ``filename="a.png";
  filename="b.py"`` is stored by gradio as ``b.py``, so it is refused here.
* **Bounds** (:class:`UploadLimits`): bytes per file, per upload request,
  of all request bodies held at once, of the uploads accepted while the
  server keeps them (the disk of the upload folder), files per request,
  upload requests at once, and the body of any other request. A body is counted while it
  arrives (and a ``Content-Length`` over the limit is refused before any
  byte is read), so a request over a limit is refused before it is held
  whole (413; 503 when the server-wide bounds are reached).
* **Files by reference.** A JSON body that names a file by URL (a file's
  ``path`` starting with ``http://`` / ``https://``, which gradio would
  download into its cache; its ``url`` field is only a link the browser
  shows) is refused (400): files reach the page by upload only.

Only when every check passes does gradio see the request, with exactly the
bytes checked. :func:`granzsl_mm.web_app.read_images` decodes each image
again (with the pixel limit) before a model sees it.
"""
import json
import os.path as osp
import time
from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, List, Optional, Sequence, Tuple

__all__ = ['IMAGE_SUFFIXES', 'UploadLimits', 'UploadRefused', 'UploadDoor',
           'looks_like_image', 'stored_upload_name', 'check_upload_body']

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif',
                  '.tiff')
_SIGNATURES = (b'\x89PNG\r\n\x1a\n', b'\xff\xd8\xff', b'BM', b'GIF87a',
               b'GIF89a', b'II*\x00', b'MM\x00*')
_HEAD = 16  # bytes needed by looks_like_image
_MAX_PART_HEADER = 8 * 1024  # gradio's GradioMultiPartParser.max_header_size
_MB = 1 << 20


def looks_like_image(head: bytes) -> bool:
    """Whether the first bytes are those of a PNG/JPEG/BMP/GIF/TIFF/WebP."""
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return True
    return any(head.startswith(sig) for sig in _SIGNATURES)


@dataclass(frozen=True)
class UploadLimits:
    """Bounds of the web app's request bodies (``tools/web_app.py`` flags).

    Attributes:
        max_file_bytes (int): One uploaded file (also given to gradio as
            ``max_file_size``).
        max_request_bytes (int): One upload request, all its files.
        max_total_bytes (int): All request bodies held by the door at once
            (server-wide memory bound).
        max_concurrent_uploads (int): Upload requests in flight at once.
        max_files (int): Files in one upload request.
        max_other_bytes (int): The body of any request that is not an
            upload (the page's JSON events; a vocabulary of 20000 labels is
            well under 1 MiB).
        max_stored_bytes (int): Uploads accepted within the door's
            ``stored_window_s`` (how long gradio keeps an upload): bounds
            the disk the upload folder can take.
    """
    max_file_bytes: int = 16 * _MB
    max_request_bytes: int = 32 * _MB
    max_total_bytes: int = 64 * _MB
    max_concurrent_uploads: int = 4
    max_files: int = 32
    max_other_bytes: int = 2 * _MB
    max_stored_bytes: int = 2048 * _MB

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or \
                    value < 1:
                raise ValueError(f'{name} must be a positive integer, got '
                                 f'{value!r}')
        if not self.max_file_bytes <= self.max_request_bytes <= \
                self.max_total_bytes:
            raise ValueError(
                'upload limits must satisfy max_file_bytes <= '
                'max_request_bytes <= max_total_bytes, got '
                f'{self.max_file_bytes}, {self.max_request_bytes}, '
                f'{self.max_total_bytes}')
        if self.max_other_bytes > self.max_total_bytes:
            raise ValueError('max_other_bytes must not exceed max_total_bytes')
        if self.max_stored_bytes < self.max_request_bytes:
            raise ValueError('max_stored_bytes must be at least '
                             'max_request_bytes')


class UploadRefused(Exception):
    """A request the door refuses: the HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _decode(raw: bytes, charset: str) -> str:
    # gradio's route_utils._user_safe_decode
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return raw.decode('latin-1')


def stored_upload_name(filename: str) -> Optional[str]:
    """The file name gradio stores an upload under.

    gradio's ``upload_fn`` keeps ``Path(filename).name`` and strips it with
    ``gradio_client.utils.strip_invalid_filename_characters``; an empty
    name becomes a random ``tmp...`` name without suffix (``None`` here).

    Args:
        filename (str): The part's decoded ``filename=`` (the last one).

    Returns:
        str or None: The stored name, ``None`` for a random name.
    """
    from pathlib import Path

    from gradio_client.utils import strip_invalid_filename_characters
    if not filename:
        return None
    return strip_invalid_filename_characters(Path(filename).name)


class _Part:
    __slots__ = ('disposition', 'field', 'name', 'is_file', 'head', 'size')

    def __init__(self) -> None:
        self.disposition = b''
        self.field = None
        self.name = None
        self.is_file = False
        self.head = b''
        self.size = 0


class _MultipartCheck:
    """Feeds a multipart body to ``python_multipart`` (gradio's parser)
    chunk by chunk, with gradio's callbacks' rules, and raises
    :class:`UploadRefused` at the first file that is not an image."""

    def __init__(self, content_type: str, limits: UploadLimits) -> None:
        from python_multipart.multipart import (
            MultipartParser,
            parse_options_header,
        )
        self._options = parse_options_header
        kind, params = parse_options_header(content_type)
        if kind != b'multipart/form-data' or b'boundary' not in params:
            raise UploadRefused(400, 'an upload must be multipart/form-data '
                                'with a boundary')
        charset = params.get(b'charset', b'utf-8')
        self.charset = charset.decode('latin-1') if isinstance(
            charset, bytes) else charset
        self.limits = limits
        self.files: List[str] = []
        self._part = _Part()
        self._header_name = b''
        self._header_value = b''
        self._header_size = 0
        callbacks = dict(on_part_begin=self._begin, on_part_data=self._data,
                         on_part_end=self._end,
                         on_header_field=self._header_field,
                         on_header_value=self._header_value_cb,
                         on_header_end=self._header_end,
                         on_headers_finished=self._headers_finished)
        self._parser = MultipartParser(params[b'boundary'], callbacks)

    def feed(self, chunk: bytes) -> None:
        from python_multipart.exceptions import MultipartParseError
        try:
            self._parser.write(chunk)
        except MultipartParseError as e:
            raise UploadRefused(400, f'unreadable multipart body ({e})') from e

    def finish(self) -> None:
        self._parser.finalize()
        if not self.files:
            raise UploadRefused(400, 'the upload holds no file')

    # -- python_multipart callbacks, after gradio's GradioMultiPartParser
    def _begin(self) -> None:
        self._part = _Part()
        self._header_size = 0

    def _grow_header(self, size: int) -> None:
        self._header_size += size
        if self._header_size > _MAX_PART_HEADER:
            raise UploadRefused(400, 'a part header is over 8 KiB')

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow_header(end - start)
        self._header_name += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._grow_header(end - start)
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b'content-disposition':
            self._part.disposition = self._header_value  # the last one wins
        self._header_name = self._header_value = b''

    def _headers_finished(self) -> None:
        part = self._part
        _, options = self._options(part.disposition)
        if b'name' not in options:
            raise UploadRefused(400, 'a part has no name')
        if b'filename' not in options:
            return  # a plain form field
        part.is_file = True
        if len(self.files) >= self.limits.max_files:
            raise UploadRefused(413, f'more than {self.limits.max_files} '
                                'files in one upload')
        given = _decode(options[b'filename'], self.charset)
        part.name = stored_upload_name(given)
        shown = osp.basename(part.name or given) or '(no name)'
        self.files.append(shown)
        if part.name is None or \
                not part.name.lower().endswith(IMAGE_SUFFIXES):
            raise UploadRefused(
                415, f'{shown} would be stored without an image suffix')

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if not part.is_file:
            return
        part.size += end - start
        if part.size > self.limits.max_file_bytes:
            raise UploadRefused(413, f'{self.files[-1]} is over the '
                                f'{_size(self.limits.max_file_bytes)} limit '
                                'per file')
        if len(part.head) < _HEAD:
            part.head += data[start:min(end, start + _HEAD)]
            self._check_head(final=False)

    def _end(self) -> None:
        if self._part.is_file:
            self._check_head(final=True)

    def _check_head(self, final: bool) -> None:
        part = self._part
        head = part.head[:_HEAD]
        if len(head) < _HEAD and not final and any(
                head[:len(s)] == s[:len(head)]
                for s in _SIGNATURES + (b'RIFF', )):
            return  # a signature may still match: wait for more bytes
        if not looks_like_image(head):
            raise UploadRefused(415, f'{self.files[-1]} is not image data')


def _size(n: int) -> str:
    return f'{n / _MB:g} MiB' if n >= _MB else f'{n} bytes'


def check_upload_body(content_type: str, chunks: Sequence[bytes],
                      limits: UploadLimits = UploadLimits()) -> List[str]:
    """Check a whole upload body as the door does (for scripts and tests).

    Args:
        content_type (str): The request's ``Content-Type``.
        chunks (Sequence[bytes]): The body, in any chunking.
        limits (UploadLimits): The bounds.

    Returns:
        list[str]: The names the files will be stored under.

    Raises:
        UploadRefused: The first refusal.
    """
    check = _MultipartCheck(content_type, limits)
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limits.max_request_bytes:
            raise UploadRefused(413, 'the upload is over the '
                                f'{_size(limits.max_request_bytes)} limit '
                                'per request')
        check.feed(chunk)
    check.finish()
    return check.files


def _names_a_url(body: bytes) -> bool:
    """Whether a JSON body names a file by http(s) URL (see the module)."""
    if b'http' not in body:
        return False
    try:
        stack = [json.loads(body)]
    except (ValueError, RecursionError):
        return False  # not JSON: gradio's own validation answers
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == 'path' and isinstance(value, str) and \
                        value.strip().lower().startswith(('http://',
                                                          'https://')):
                    return True
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _route_path(scope) -> str:
    path, root = scope.get('path', ''), scope.get('root_path', '')
    return path[len(root):] if root and path.startswith(root) else path


class UploadDoor:
    """ASGI middleware: the only way a request body reaches gradio.

    Args:
        app: The ASGI application (gradio's).
        upload_paths (Sequence[str]): The routes that take a file body
            (``/gradio_api/upload``).
        limits (UploadLimits): The bounds.
        stored_window_s (float): How long an accepted upload counts against
            ``limits.max_stored_bytes`` (at least as long as the server
            keeps uploaded files).
    """

    def __init__(self, app, upload_paths: Sequence[str] = (
            '/gradio_api/upload', ),
                 limits: UploadLimits = UploadLimits(),
                 stored_window_s: float = 3600.0) -> None:
        self.app = app
        self.upload_paths = frozenset(upload_paths)
        self.limits = limits
        self.stored_window_s = stored_window_s
        self.active_uploads = 0
        self.held_bytes = 0
        self._stored: Deque[Tuple[float, int]] = deque()

    def stored_bytes(self) -> int:
        """Bytes of the uploads accepted within ``stored_window_s``."""
        now = time.monotonic()
        while self._stored and self._stored[0][0] < now - self.stored_window_s:
            self._stored.popleft()
        return sum(size for _, size in self._stored)

    @staticmethod
    async def _answer(send, status: int, text: str) -> None:
        body = text.encode('utf-8')
        headers = [(b'content-type', b'text/plain; charset=utf-8'),
                   (b'content-length', str(len(body)).encode()),
                   (b'connection', b'close')]
        if status == 503:
            headers.append((b'retry-after', b'5'))
        await send({'type': 'http.response.start', 'status': status,
                    'headers': headers})
        await send({'type': 'http.response.body', 'body': body})

    async def __call__(self, scope, receive, send) -> None:
        if scope.get('type') != 'http':
            await self.app(scope, receive, send)
            return
        headers: Dict[str, str] = {}
        for key, value in scope.get('headers', []):
            # the first of repeated headers, as starlette's Headers[...]
            headers.setdefault(key.decode('latin1').lower(),
                               value.decode('latin1'))
        content_type = headers.get('content-type', '')
        is_upload = _route_path(scope) in self.upload_paths and \
            scope.get('method') == 'POST'
        if not is_upload and 'multipart' in content_type.lower():
            await self._answer(
                send, 415, 'this route takes no file: uploads go to '
                + ', '.join(sorted(self.upload_paths)))
            return
        if not is_upload and scope.get('method') in ('GET', 'HEAD',
                                                     'OPTIONS'):
            await self.app(scope, receive, send)  # no body is read
            return
        limit = (self.limits.max_request_bytes if is_upload
                 else self.limits.max_other_bytes)
        try:
            declared = int(headers.get('content-length', '0') or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            await self._answer(send, 413, f'request body over the '
                               f'{_size(limit)} limit')
            return
        if is_upload and \
                self.active_uploads >= self.limits.max_concurrent_uploads:
            await self._answer(send, 503, 'too many uploads at once; try '
                               'again in a few seconds')
            return
        self.active_uploads += is_upload
        held = 0
        stored = self.stored_bytes() if is_upload else 0
        try:
            try:
                check = (_MultipartCheck(content_type, self.limits)
                         if is_upload else None)
                chunks: List[bytes] = []
                while True:
                    message = await receive()
                    if message['type'] == 'http.disconnect':
                        return
                    chunk = message.get('body', b'')
                    if held + len(chunk) > limit:
                        raise UploadRefused(
                            413, f'request body over the {_size(limit)} '
                            'limit' + (' per upload' if is_upload else ''))
                    if is_upload and stored + held + len(chunk) > \
                            self.limits.max_stored_bytes:
                        raise UploadRefused(503, 'the server took its share '
                                            'of uploads for now; try again '
                                            'later')
                    if self.held_bytes + len(chunk) > \
                            self.limits.max_total_bytes:
                        raise UploadRefused(503, 'the server holds too many '
                                            'uploads; try again in a few '
                                            'seconds')
                    held += len(chunk)
                    self.held_bytes += len(chunk)
                    if check is not None:
                        check.feed(chunk)
                    chunks.append(chunk)
                    if not message.get('more_body'):
                        break
                body = b''.join(chunks)
                del chunks
                if check is not None:
                    check.finish()
                elif _names_a_url(body):  # whatever its content type
                    raise UploadRefused(400, 'files reach this page by upload '
                                        'only, not by URL')
            except UploadRefused as refusal:
                await self._answer(send, refusal.status,
                                   ('Only images can be uploaded to this web '
                                    'app; refused: ' if refusal.status == 415
                                    else 'Refused: ') + refusal.message)
                return
            if is_upload:
                self._stored.append((time.monotonic(), held))
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.active_uploads -= is_upload
            self.held_bytes -= held


def _replay(body: bytes, receive):
    sent: List[bool] = []

    async def replay():
        if not sent:
            sent.append(True)
            return {'type': 'http.request', 'body': body, 'more_body': False}
        return await receive()

    return replay

