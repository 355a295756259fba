"""The web app's HTTP door, in process: gradio's real app behind
:class:`UploadDoor` (starlette's ``TestClient``, no port), started once.

Every route of the app gets a file; only gradio's upload route takes it,
and only an image stored under an image suffix, by the name gradio itself
stores (the last ``filename=``). The bounds are checked on the door alone
with a body that arrives in chunks: a request over a limit is refused
before it is read whole.
"""
import asyncio
import io
import os
import os.path as osp

import pytest

from granzsl_mm.web_app.access import upload_folders
from granzsl_mm.web_app.uploads import (
    UploadDoor,
    UploadLimits,
    UploadRefused,
    check_upload_body,
)

from .conftest import REPO, write_test_image

KIB = 1024
LIMITS = UploadLimits(max_file_bytes=64 * KIB, max_request_bytes=128 * KIB,
                      max_total_bytes=256 * KIB, max_concurrent_uploads=2,
                      max_files=4, max_other_bytes=32 * KIB)
BMP_HEAD = b'BM' + bytes(62)


def _png_bytes(tmp_path) -> bytes:
    with open(write_test_image(str(tmp_path / 'p.png'), size=(24, 32)),
              'rb') as f:
        return f.read()


def _multipart(disposition: str, data: bytes, boundary: str = 'XyZ'):
    body = (f'--{boundary}\r\nContent-Disposition: {disposition}\r\n'
            'Content-Type: application/octet-stream\r\n\r\n').encode() + \
        data + f'\r\n--{boundary}--\r\n'.encode()
    return f'multipart/form-data; boundary={boundary}', body


DOUBLE_NAMED = 'form-data; name="files"; filename="a.png"; filename="b.py"'


@pytest.fixture(scope='module')
def client(tmp_path_factory):
    pytest.importorskip('gradio')
    from starlette.testclient import TestClient

    from granzsl_mm.web_app import AppSession, build_web_app
    from granzsl_mm.web_app.access import AppAccess
    from granzsl_mm.web_app.app import http_app
    uploads = tmp_path_factory.mktemp('gradio_uploads')
    saved = {k: os.environ.get(k) for k in ('GRADIO_TEMP_DIR',
                                            'GRADIO_ANALYTICS_ENABLED')}
    os.environ.update(GRADIO_TEMP_DIR=str(uploads),
                      GRADIO_ANALYTICS_ENABLED='False')
    try:
        session = AppSession(access=AppAccess([osp.join(REPO, 'configs')]))
        app = http_app(build_web_app(session), LIMITS)
        with TestClient(app) as test_client:
            yield test_client, app, str(uploads)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _routes(routes, prefix=''):
    """``path`` of every HTTP route, included routers walked into."""
    for route in routes:
        inner = getattr(route, 'original_router', None)
        if inner is not None:
            yield from _routes(inner.routes,
                               prefix + route.include_context.prefix)
        elif getattr(route, 'methods', None):
            yield prefix + route.path


def _stored(folder: str):
    return sorted(name for _, _, files in os.walk(folder) for name in files)


def test_upload_folder_is_gradios(client):
    import gradio.utils
    assert upload_folders()[1] == osp.realpath(
        gradio.utils.get_upload_folder())


def test_every_other_route_refuses_a_file(client, tmp_path):
    """Deny by default: a valid image posted to each route of the app."""
    test_client, app, uploads = client
    paths = sorted(set(_routes(app.routes)))
    assert '/gradio_api/upload' in paths and \
        '/gradio_api/process_recording' in paths, paths
    image = _png_bytes(tmp_path)
    answers = {}
    for path in paths:
        url = path.replace('{', '').replace('}', '').replace(':path', '')
        answer = test_client.post(url, files={'files': ('ok.png', image)})
        answers[path] = (answer.status_code, answer.text)
    upload = answers.pop('/gradio_api/upload')
    assert upload[0] == 200 and upload[1].endswith('ok.png"]'), upload
    refused = {p: a for p, a in answers.items()
               if a[0] != 415 or 'takes no file' not in a[1]}
    assert not refused, refused
    # over the size limit on the route that once echoed 100 MB back
    big = os.urandom(LIMITS.max_request_bytes + KIB)
    answer = test_client.post('/gradio_api/process_recording',
                              files={'video': ('x.html', big)})
    assert answer.status_code in (413, 415), answer.text
    assert 'x.html' not in _stored(uploads)


def test_double_named_upload_is_refused_on_every_route(client):
    test_client, app, uploads = client
    content_type, body = _multipart(DOUBLE_NAMED, BMP_HEAD)
    before = _stored(uploads)
    for path in sorted(set(_routes(app.routes))):
        url = path.replace('{', '').replace('}', '').replace(':path', '')
        answer = test_client.post(url, content=body,
                                  headers={'content-type': content_type})
        assert answer.status_code == 415, (path, answer.text)
    assert _stored(uploads) == before
    assert not any(n.endswith('.py') for n in _stored(uploads))


def test_the_name_checked_is_the_name_gradio_stores(client):
    """The reverse order passes: gradio stores it as ``y.png``."""
    test_client, _, _ = client
    content_type, body = _multipart(
        'form-data; name="files"; filename="x.py"; filename="y.png"',
        BMP_HEAD)
    answer = test_client.post('/gradio_api/upload', content=body,
                              headers={'content-type': content_type})
    assert answer.status_code == 200, answer.text
    assert osp.basename(answer.json()[0]) == 'y.png'
    # two Content-Disposition headers: gradio keeps the last one
    content_type, body = _multipart(
        'form-data; name="files"; filename="y.png"\r\nContent-Disposition: '
        'form-data; name="files"; filename="z.html"', BMP_HEAD)
    answer = test_client.post('/gradio_api/upload', content=body,
                              headers={'content-type': content_type})
    assert answer.status_code == 415 and 'z.html' in answer.text


@pytest.mark.parametrize('name,data,status,words', [
    ('evil.py', b'import os\n', 415, 'image suffix'),
    ('evil.png', b'import os\n', 415, 'not image data'),
    ('empty.png', b'', 415, 'not image data'),
    ('big.bmp', BMP_HEAD + bytes(LIMITS.max_file_bytes), 413, 'per file'),
])
def test_upload_route_checks(client, name, data, status, words):
    test_client, _, uploads = client
    answer = test_client.post('/gradio_api/upload',
                              files={'files': (name, data)})
    assert answer.status_code == status and words in answer.text, \
        answer.text
    assert name not in _stored(uploads)


def test_a_file_by_url_is_refused(client):
    test_client, _, _ = client
    answer = test_client.post(
        '/gradio_api/queue/join',
        json=dict(data=[[dict(path='https://example.com/b.py',
                              meta=dict(_type='gradio.FileData'))]],
                  fn_index=0, session_hash='s'))
    assert answer.status_code == 400 and 'by upload only' in answer.text


def test_check_upload_body_is_chunking_independent():
    content_type, body = _multipart(
        'form-data; name="files"; filename="ok.bmp"', BMP_HEAD)
    for size in (1, 3, 7, len(body)):
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        assert check_upload_body(content_type, chunks) == ['ok.bmp']
    content_type, body = _multipart(DOUBLE_NAMED, BMP_HEAD)
    with pytest.raises(UploadRefused, match='b.py'):
        check_upload_body(content_type, [body[i:i + 5]
                                         for i in range(0, len(body), 5)])


# ------------------------------------------------ the door alone, in chunks
class _Body:
    """An ASGI ``receive`` giving ``total`` bytes in ``chunk``-sized
    messages (a multipart image upload), counting what was read."""

    def __init__(self, total: int, chunk: int = 4 * KIB,
                 gate: asyncio.Event = None) -> None:
        self.content_type, body = _multipart(
            'form-data; name="files"; filename="big.bmp"',
            BMP_HEAD + bytes(max(0, total - 200)))
        self.stream = io.BytesIO(body)
        self.chunk = chunk
        self.read = 0
        self.gate = gate

    async def __call__(self):
        if self.gate is not None:
            await self.gate.wait()
        data = self.stream.read(self.chunk)
        self.read += len(data)
        more = self.stream.tell() < len(self.stream.getbuffer())
        return {'type': 'http.request', 'body': data, 'more_body': more}


def _scope(content_type: str, length: int = None,
           path: str = '/gradio_api/upload'):
    headers = [(b'content-type', content_type.encode())]
    if length is not None:
        headers.append((b'content-length', str(length).encode()))
    return dict(type='http', method='POST', path=path, headers=headers)


class _Recorder:
    def __init__(self) -> None:
        self.status = None
        self.app_called = False

    async def send(self, message):
        if message['type'] == 'http.response.start':
            self.status = message['status']

    async def app(self, scope, receive, send):
        self.app_called = True
        while (await receive()).get('more_body'):
            pass
        await send({'type': 'http.response.start', 'status': 200,
                    'headers': []})
        await send({'type': 'http.response.body', 'body': b''})


def test_oversize_upload_is_refused_before_it_is_read_whole():
    total = 10 * LIMITS.max_request_bytes
    body, out = _Body(total), _Recorder()
    door = UploadDoor(out.app, limits=LIMITS)
    asyncio.run(door(_scope(body.content_type), body, out.send))
    assert out.status == 413 and not out.app_called
    assert body.read <= LIMITS.max_file_bytes + body.chunk < total
    # a declared length over the limit: refused before any byte is read
    body, out = _Body(total), _Recorder()
    asyncio.run(door(_scope(body.content_type, total), body, out.send))
    assert (out.status, body.read) == (413, 0)
    assert (door.active_uploads, door.held_bytes) == (0, 0)
    # a body within the limits goes through, whole
    body, out = _Body(LIMITS.max_file_bytes // 2), _Recorder()
    door.app = out.app
    asyncio.run(door(_scope(body.content_type), body, out.send))
    assert out.status == 200 and out.app_called


def test_concurrent_uploads_are_bounded():
    async def scenario():
        out = _Recorder()
        door = UploadDoor(out.app, limits=LIMITS)
        gate = asyncio.Event()
        statuses = []

        async def one(gated: bool):
            body = _Body(8 * KIB, gate=gate if gated else None)
            rec = _Recorder()
            door.app = rec.app
            await door(_scope(body.content_type), body, rec.send)
            statuses.append(rec.status)

        waiting = [asyncio.create_task(one(True))
                   for _ in range(LIMITS.max_concurrent_uploads)]
        await asyncio.sleep(0)
        await one(False)  # one more while the others are in flight
        gate.set()
        await asyncio.gather(*waiting)
        return statuses, door

    statuses, door = asyncio.run(scenario())
    assert statuses[0] == 503
    assert statuses[1:] == [200] * LIMITS.max_concurrent_uploads
    assert (door.active_uploads, door.held_bytes) == (0, 0)


def test_limits_are_checked():
    with pytest.raises(ValueError, match='max_file_bytes <= '):
        UploadLimits(max_file_bytes=2 * KIB, max_request_bytes=KIB)
    with pytest.raises(ValueError, match='positive'):
        UploadLimits(max_concurrent_uploads=0)


@pytest.mark.slow  # the tool's imports: ~6 s
def test_a_start_up_file_in_the_temp_root_is_refused(client, tmp_path,
                                                     monkeypatch, capsys):
    """``--clip-weights /tmp/x.pt`` would allow /tmp, which holds gradio's
    uploads: refused at start, one line, exit 2 (here the temporary root is
    the test's folder)."""
    import tempfile

    from tests.fixtures.run_tools import run_tool_in_process
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    monkeypatch.chdir(REPO)
    weights = tmp_path / 'x.pt'
    weights.write_bytes(b'not read')
    code, err = run_tool_in_process(
        'web_app.py', ['--clip-weights', str(weights), '--no-preload'],
        capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert f'--clip-weights {weights}' in lines[0]
    assert 'system temporary folder' in lines[0]
    assert 'folder of their own' in lines[0]


def test_uploads_kept_on_disk_are_bounded():
    """Accepted uploads count against ``max_stored_bytes`` while the server
    keeps them (the window), then no longer."""
    import time
    limits = UploadLimits(max_file_bytes=64 * KIB, max_request_bytes=64 * KIB,
                          max_total_bytes=256 * KIB,
                          max_other_bytes=32 * KIB,
                          max_stored_bytes=128 * KIB)
    door = UploadDoor(None, limits=limits, stored_window_s=1.0)
    statuses = []
    for _ in range(3):
        body, out = _Body(50 * KIB), _Recorder()
        door.app = out.app
        asyncio.run(door(_scope(body.content_type), body, out.send))
        statuses.append(out.status)
    assert statuses == [200, 200, 503]
    assert door.stored_bytes() > 96 * KIB
    time.sleep(1.1)
    body, out = _Body(50 * KIB), _Recorder()
    door.app = out.app
    asyncio.run(door(_scope(body.content_type), body, out.send))
    assert out.status == 200
