"""The running web app over HTTP (gradio's client) never
opens a config, checkpoint or option value the operator did not allow, and
its upload endpoint takes images only.

A config written in a temporary folder outside the allowed ones would create
a marker file when parsed; it is named through the Config box (plainly, via
``..`` and via a symbolic link inside an allowed folder) and uploaded as a
``.py`` file: the marker never appears, and a normal run still works.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

from .conftest import REPO, write_test_image
from .test_browser import _free_port, _wait_until_served

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def app_url(tiny_granzsl, tmp_path_factory):
    pytest.importorskip('gradio')
    pytest.importorskip('gradio_client')
    work = tmp_path_factory.mktemp('web_app_http')
    port = _free_port()
    log = str(work / 'server.log')
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False',
               OMP_NUM_THREADS='1')
    with open(log, 'w') as out:
        server = subprocess.Popen(
            [sys.executable, 'tools/web_app.py', '--config',
             tiny_granzsl.config, '--checkpoint', tiny_granzsl.checkpoint,
             '--port', str(port), '--work-dirs', str(work / 'work_dirs'),
             '--allow-dir', str(work / 'allowed')],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f'http://127.0.0.1:{port}/'
        _wait_until_served(url, server, log, timeout=120)
        yield url, work
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_requests_cannot_run_code(app_url, tiny_granzsl, tmp_path):
    import httpx
    from gradio_client import Client, handle_file
    url, work = app_url
    marker = tmp_path / 'marker.txt'
    evil_dir = tmp_path / 'elsewhere'
    evil_dir.mkdir()
    evil = evil_dir / 'evil.py'
    evil.write_text(f'import pathlib\npathlib.Path({str(marker)!r})'
                    ".write_text('ran')\nmodel = dict(type='Nothing')\n")
    allowed = work / 'allowed'
    allowed.mkdir()
    (allowed / 'link.py').symlink_to(evil)
    image = write_test_image(str(tmp_path / 'street.png'))
    client = Client(url, verbose=False)

    def run(config, checkpoint='', options=''):
        return client.predict([handle_file(image)], 'cat, dog', config,
                              checkpoint, options, False, 5, None, None,
                              api_name='/run')[0]

    # a normal request works (the refusals below are not vacuous)
    assert run(tiny_granzsl.config, tiny_granzsl.checkpoint) == \
        '1 image(s), 2 labels.'
    for config in (str(evil), str(allowed / '..' / 'elsewhere' / 'evil.py'),
                   str(allowed / 'link.py'),
                   osp.relpath(str(evil), REPO)):
        status = run(config)
        assert 'is not allowed' in status, status
    # a path that does not exist gets the same answer (no probing)
    assert 'is not allowed' in run(str(evil_dir / 'missing.py'))
    assert 'is not allowed' in run(tiny_granzsl.config, str(evil))
    for options in ('model.class_names=/etc/passwd',
                    'model.backbone.pretrained=/etc/passwd',
                    'model.score_mode=../x'):
        status = run(tiny_granzsl.config, tiny_granzsl.checkpoint, options)
        assert 'cannot be set from the page' in status or \
            'no paths' in status, status
    assert 'labels.' in run(tiny_granzsl.config, tiny_granzsl.checkpoint,
                            'model.score_mode=global')

    # uploads: images only, checked by the server
    upload = url + 'gradio_api/upload'
    for name, data in (('evil.py', evil.read_bytes()),
                       ('evil.png', evil.read_bytes())):
        answer = httpx.post(upload, files={'files': (name, data)})
        assert answer.status_code == 415, answer.text
        assert name in answer.text
    with open(image, 'rb') as f:
        answer = httpx.post(upload, files={'files': ('ok.png', f.read())})
    assert answer.status_code == 200
    uploaded = answer.json()[0]
    assert 'is not allowed' in run(uploaded)  # an uploaded file as config
    with pytest.raises(Exception, match='415|[Oo]nly images|refused'):
        client.predict([handle_file(str(evil))], 'cat', str(evil), '', '',
                       False, 5, None, None, api_name='/run')
    assert not marker.exists()
