"""The web app in a real browser: Debian's headless Chromium, driven by
Playwright (``executable_path``, ``--no-sandbox``: CI runs as root; no
browser download), against ``tools/web_app.py`` serving a tiny GranZSL
on 127.0.0.1.

The ranked labels read back from the page must equal GranZSL's own
``predict`` for the uploaded picture. A screenshot is saved to
``$GRANZSL_WEB_APP_SCREENSHOT`` (docs: ``docs/images/web_app.png``) or to the
test's tmp dir. ``GRANZSL_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns a
missing browser from a skip into a failure.
"""
import os
import os.path as osp
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import torch

from .conftest import REPO, write_test_image
from .test_session import granzsl_predict

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get('GRANZSL_CHROMIUM', '/usr/bin/chromium')
VOCAB = ['tree', 'cat', 'boat', 'dog', 'red car', 'violin']  # violin: prompt


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get('GRANZSL_REQUIRE_BROWSER') == '1':
            pytest.fail(reason + ' (GRANZSL_REQUIRE_BROWSER=1)')
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_until_served(url: str, server: subprocess.Popen, log: str,
                       timeout: float = 75.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise AssertionError('the web app exited:\n' + open(log).read()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f'no answer from {url} in {timeout} s:\n'
                         + open(log).read()[-3000:])


@pytest.fixture(scope='module')
def browser():
    _need(osp.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK),
          f'no Chromium at {CHROMIUM}: apt-get install -y chromium')
    try:
        import gradio  # noqa: F401
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        _need(False, f"the web extra is not installed ({e}): "
              "pip install -e '.[web]'")
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM,
                                        args=['--no-sandbox'], headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope='module')
def served_app(browser, tiny_granzsl, tmp_path_factory):
    """``tools/web_app.py`` on a free port of 127.0.0.1."""
    work = tmp_path_factory.mktemp('web_app')
    port = _free_port()
    log = str(work / 'server.log')
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False')
    with open(log, 'w') as out:
        server = subprocess.Popen(
            [sys.executable, 'tools/web_app.py', '--config',
             tiny_granzsl.config, '--checkpoint', tiny_granzsl.checkpoint,
             '--port', str(port), '--work-dirs', str(work)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f'http://127.0.0.1:{port}/'
        _wait_until_served(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def _run(page, expect: str, timeout: float = 60000) -> str:
    """Click Run and wait until the status line shows ``expect``."""
    page.click('#run')
    page.wait_for_function(
        'text => document.querySelector("#status").innerText.includes(text)',
        arg=expect, timeout=timeout)
    return page.inner_text('#status').strip()


def test_web_app_in_chromium(served_app, browser, tiny_granzsl, tmp_path):
    image = write_test_image(str(tmp_path / 'street.png'))
    learned = [w for w in VOCAB if w in tiny_granzsl.class_names]
    own = granzsl_predict(tiny_granzsl.model, image, learned)
    own_order = [learned[i] for i in torch.sort(own, descending=True)
                 .indices.tolist()]
    ranked_own = sorted(own.tolist(), reverse=True)
    threshold = round((ranked_own[1] + ranked_own[2]) / 2, 4)

    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.goto(served_app)
    page.wait_for_selector('#run')
    def upload(*paths):
        clear = page.locator('#images button[aria-label="Clear"]')
        if clear.count():
            clear.click()
            page.wait_for_selector('#images >> text=.png', state='detached')
        page.locator('#images input[type=file]').set_input_files(list(paths))
        for path in paths:
            stem = osp.splitext(osp.basename(path))[0]  # shown apart from .png
            page.wait_for_selector(f'#images >> text={stem}')

    # mistakes first: messages on the page, no ranking
    upload(image)
    page.locator('#vocabulary textarea').fill(' , ')
    _run(page, 'The vocabulary is empty')
    assert page.locator('#ranking li.gz-row').count() == 0
    # a non-image upload never reaches the page: the server refuses it with
    # HTTP 415 (tests/web_app/test_http.py drives that over HTTP)

    # the real run
    upload(image)
    page.locator('#vocabulary textarea').fill(
        ', '.join(VOCAB[:3]) + '\n' + ', '.join(VOCAB[3:]))
    # a threshold for learned names; prompt words keep their default (one
    # prompt word: nothing stands out, nothing highlighted)
    box = page.locator('#threshold-learned').locator('input, textarea')
    box.fill(str(threshold))
    box.press('Tab')
    assert _run(page, 'labels.') == '1 image(s), 6 labels.'
    rows = page.locator('#ranking li.gz-row')
    shown = [dict(label=rows.nth(i).get_attribute('data-label'),
                  score=float(rows.nth(i).get_attribute('data-score')),
                  source=rows.nth(i).get_attribute('data-source'),
                  above='gz-above' in rows.nth(i).get_attribute('class'))
             for i in range(rows.count())]
    assert sorted(r['label'] for r in shown) == sorted(VOCAB)
    # GranZSL's own predict over its learned names: same order, same scores
    page_learned = [r for r in shown if r['source'] == 'learned']
    assert [r['label'] for r in page_learned] == own_order
    assert [r['score'] for r in page_learned] == pytest.approx(ranked_own,
                                                               abs=1e-5)
    assert [r['label'] for r in shown if r['source'] == 'prompt'] == ['violin']
    # one list per source (different scales), each in descending order
    assert [r['source'] for r in shown] == ['learned'] * len(
        page_learned) + ['prompt']
    assert page.locator('#ranking div.gz-source').count() == 2
    scores = [r['score'] for r in shown]
    assert [r['score'] for r in page_learned] == sorted(
        [r['score'] for r in page_learned], reverse=True)
    assert [r['above'] for r in shown] == [
        s >= threshold and r['source'] == 'learned'
        for s, r in zip(scores, shown)]
    assert sum(r['above'] for r in page_learned) == 2
    assert float(page.locator('#ranking div.gz-source[data-source=learned]')
                 .get_attribute('data-threshold')) == threshold

    # the score map of the top label is drawn for the picture
    page.wait_for_selector('#score-map img', timeout=30000)
    top = shown[0]['label']
    assert f'Local cosine map of {top}' in page.inner_text('#map-status')

    shot = os.environ.get('GRANZSL_WEB_APP_SCREENSHOT') or str(
        tmp_path / 'web_app.png')
    os.makedirs(osp.dirname(osp.abspath(shot)), exist_ok=True)
    page.screenshot(path=shot, full_page=True)
    assert osp.getsize(shot) > 10000
    page.close()
