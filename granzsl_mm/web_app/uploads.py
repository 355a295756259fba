"""Server-side upload filter of the web app: images only.

gradio's upload endpoint stores any file a client posts and returns its
server path; ``file_types`` of ``gr.File`` is checked by the browser and
when an event runs, not at upload. :class:`ImageUploadsOnly` is a plain ASGI
middleware (no gradio import) that reads each multipart upload and refuses
the whole request (HTTP 415) unless every file has an image suffix
(:data:`IMAGE_SUFFIXES`) *and* starts with an image signature
(:func:`looks_like_image`). :func:`granzsl_mm.web_app.read_images` decodes
each image again before use.
"""
import os.path as osp
from email.parser import BytesParser
from email.policy import HTTP
from typing import List, Optional

__all__ = ['IMAGE_SUFFIXES', 'looks_like_image', 'refused_uploads',
           'ImageUploadsOnly']

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif',
                  '.tiff')
_SIGNATURES = (b'\x89PNG\r\n\x1a\n', b'\xff\xd8\xff', b'BM', b'GIF87a',
               b'GIF89a', b'II*\x00', b'MM\x00*')


def looks_like_image(head: bytes) -> bool:
    """Whether the first bytes are those of a PNG/JPEG/BMP/GIF/TIFF/WebP."""
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return True
    return any(head.startswith(sig) for sig in _SIGNATURES)


def refused_uploads(content_type: str, body: bytes) -> List[str]:
    """Names of the uploaded files that are not images (empty: all fine).

    Args:
        content_type (str): The request's ``Content-Type`` header.
        body (bytes): The multipart body.

    Returns:
        list[str]: Refused file names (with the reason); a body that is not
        multipart form data is refused as a whole.
    """
    if not content_type.lower().startswith('multipart/form-data'):
        return ['(not a multipart upload)']
    message = BytesParser(policy=HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin1') + b'\r\n\r\n'
        + body)
    if not message.is_multipart():
        return ['(unreadable multipart body)']
    refused = []
    for part in message.iter_parts():
        name = part.get_filename()
        if name is None:
            continue  # a plain form field
        data = part.get_payload(decode=True) or b''
        if not name.lower().endswith(IMAGE_SUFFIXES):
            refused.append(f'{osp.basename(name)} (not an image suffix)')
        elif not looks_like_image(data[:16]):
            refused.append(f'{osp.basename(name)} (not image data)')
    return refused


class ImageUploadsOnly:
    """ASGI middleware: refuse non-image files on ``POST .../upload``.

    Args:
        app: The ASGI application (gradio's).
        max_bytes (int): Largest upload request accepted (HTTP 413 above).
    """

    def __init__(self, app, max_bytes: int = 64 << 20) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _answer(self, send, status: int, text: str) -> None:
        body = text.encode('utf-8')
        await send({'type': 'http.response.start', 'status': status,
                    'headers': [(b'content-type', b'text/plain; charset=utf-8'),
                                (b'content-length', str(len(body)).encode())]})
        await send({'type': 'http.response.body', 'body': body})

    async def __call__(self, scope, receive, send) -> None:
        if scope.get('type') != 'http' or scope.get('method') != 'POST' or \
                not scope.get('path', '').rstrip('/').endswith('/upload'):
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message['type'] == 'http.disconnect':
                return
            chunk = message.get('body', b'')
            size += len(chunk)
            if size > self.max_bytes:
                await self._answer(send, 413, 'upload too large')
                return
            chunks.append(chunk)
            if not message.get('more_body'):
                break
        body = b''.join(chunks)
        headers = {k.decode('latin1').lower(): v.decode('latin1')
                   for k, v in scope.get('headers', [])}
        refused = refused_uploads(headers.get('content-type', ''), body)
        if refused:
            await self._answer(
                send, 415, 'Only images can be uploaded to this web app; '
                'refused: ' + ', '.join(refused))
            return
        sent: Optional[bool] = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {'type': 'http.request', 'body': body,
                        'more_body': False}
            return await receive()

        await self.app(scope, replay, send)
