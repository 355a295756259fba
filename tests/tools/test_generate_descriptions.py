"""tools/generate_descriptions.py against a local chat-completions server."""
import importlib.util
import json
import os.path as osp
import re
import threading
import urllib.error
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from granzsl_mm.datasets import load_descriptions
from granzsl_mm.datasets.descriptions.generation import (
    ChatCompletionsClient,
    MalformedReply,
    RetryableError,
    describe_class,
    generate_descriptions,
    parse_reply,
    read_partial,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'generate_descriptions',
        osp.join(ROOT, 'tools', 'generate_descriptions.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _good(name):
    return json.dumps({'attributes': [f'has {name} part {k}' for k in range(3)],
                       'parents': ['thing'], 'cooccurrence': ['a table'],
                       'notes_we_ignore': 'x'})


class FakeLLM:
    """Chat-completions server; per-class scripts of replies."""

    def __init__(self, scripts, concurrency_target=2):
        self.scripts = {k: list(v) for k, v in scripts.items()}
        self.requests = Counter()
        self.successes = Counter()
        self.auth = set()
        self.inflight = self.max_inflight = 0
        self.lock = threading.Lock()
        self.target_reached = threading.Event()
        self.target = concurrency_target
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                fake.handle(self)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_port}/v1'
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def handle(self, h):
        body = json.loads(h.rfile.read(int(h.headers['Content-Length'])))
        assert h.path == '/v1/chat/completions' and body['model'] == 'm'
        name = re.search(r'Class name: "(.*?)"',
                         body['messages'][-1]['content']).group(1)
        with self.lock:
            self.requests[name] += 1
            self.auth.add(h.headers.get('Authorization'))
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            if self.inflight >= self.target:
                self.target_reached.set()
            script = self.scripts.get(name) or ['ok']
            action = script.pop(0) if len(script) > 1 else script[0]
        # hold requests until `target` are in flight at once (or 3 s)
        self.target_reached.wait(3.0)
        try:
            if action in ('429', '500', '401'):
                h.send_response(int(action))
                h.send_header('Content-Length', '0')
                h.end_headers()
                return
            content = {'ok': _good(name),
                       'fenced': 'Sure!\n```json\n' + _good(name) + '\n```',
                       'malformed': '{"attributes": ["is red", ',
                       'badschema': json.dumps({'attributes': {'colour': 'red'}}),
                       }[action]
            if action in ('ok', 'fenced'):
                with self.lock:
                    self.successes[name] += 1
            payload = json.dumps({'choices': [{'message': {
                'role': 'assistant', 'content': content}}]}).encode()
            h.send_response(200)
            h.send_header('Content-Type', 'application/json')
            h.send_header('Content-Length', str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        finally:
            with self.lock:
                self.inflight -= 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


CLASSES = ['cat', 'dog', 'cow', 'zebra', 'horse', 'sheep']


def test_retries_concurrency_and_resume(tmp_path, monkeypatch):
    out = str(tmp_path / 'desc.json')
    scripts = {'cat': ['429', 'ok'], 'dog': ['500', 'malformed', 'fenced'],
               'cow': ['badschema', 'ok'], 'zebra': ['500']}
    with FakeLLM(scripts) as llm:
        client = ChatCompletionsClient(llm.url, 'm', timeout=10)
        with pytest.raises(RuntimeError, match="1 classes failed.*'zebra'"):
            generate_descriptions(CLASSES, out, client.complete,
                                  concurrency=2, max_attempts=3,
                                  backoff=0.001, progress=False)
        assert not osp.exists(out)
        assert llm.requests['zebra'] == 3          # bounded attempts
        assert (llm.requests['cat'], llm.requests['dog'],
                llm.requests['cow']) == (2, 3, 2)  # retried, then answered
        assert llm.max_inflight == 2               # limit reached, never passed
        partial = out + '.partial.jsonl'
        assert sorted(read_partial(partial)) == sorted(set(CLASSES) - {'zebra'})
        # a run killed mid-write leaves a broken last line: ignored
        with open(partial, 'a') as f:
            f.write('{"class": "zebra", "ent')

        llm.scripts['zebra'] = ['ok']
        monkeypatch.setenv('MY_KEY', 'sekrit')
        tool = _load_tool()
        rc = tool.main(['--classes', _classes_file(tmp_path), '--output', out,
                        '--base-url', llm.url, '--model', 'm',
                        '--api-key-env', 'MY_KEY', '--concurrency', '2',
                        '--backoff', '0.001', '--no-progress'])
        assert rc == 0
        assert llm.requests['zebra'] == 4          # only zebra asked again
        assert all(llm.successes[c] == 1 for c in CLASSES)  # never twice
        assert 'Bearer sekrit' in llm.auth and None in llm.auth
    desc = load_descriptions(out, CLASSES)
    assert list(desc) == CLASSES
    assert desc['dog'] == {'attributes': [f'has dog part {k}' for k in range(3)],
                           'parents': ['thing'], 'cooccurrence': ['a table'],
                           'source': 'llm'}
    assert set(read_partial(out + '.partial.jsonl')) == set(CLASSES)


def _classes_file(tmp_path):
    path = tmp_path / 'classes.txt'
    path.write_text('\n'.join(CLASSES) + '\n')
    return str(path)


def test_non_retryable_error_stops(tmp_path):
    with FakeLLM({'cat': ['401']}, concurrency_target=1) as llm:
        client = ChatCompletionsClient(llm.url, 'm', timeout=10)
        with pytest.raises(urllib.error.HTTPError):
            generate_descriptions(['cat'], str(tmp_path / 'o.json'),
                                  client.complete, progress=False)
        assert llm.requests['cat'] == 1


def test_backoff_schedule_and_parse():
    replies = iter([RetryableError('429', retry_after=5.0),
                    MalformedReply('bad'), _good('cat')])

    def complete(messages):
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return reply

    delays = []
    entry = describe_class(complete, 'cat', backoff=1.0, max_backoff=30,
                           sleep=delays.append)
    assert entry['source'] == 'llm' and len(entry['attributes']) == 3
    # Retry-After wins over the first delay; the second is 2 * backoff (+25%)
    assert delays[0] == 5.0 and 2.0 <= delays[1] <= 2.5
    with pytest.raises(MalformedReply, match='no JSON object'):
        parse_reply('I cannot help.', 'cat')
    with pytest.raises(MalformedReply, match='no attributes'):
        parse_reply('{"parents": ["pet"]}', 'cat')


def test_build_nuswide_seen_descriptions(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'build_nuswide_seen', osp.join(ROOT, 'tools',
                                       'build_nuswide_seen_descriptions.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / 'tags.txt').write_text('cats\nsky\nkitchen\nblue\n')
    (tmp_path / 'concepts.txt').write_text('sky\ncat\n')
    written = tmp_path / 'written.json'
    written.write_text(json.dumps({'format': 'granzsl_mm.descriptions/v1',
                                   'classes': {'kitchen': {
                                       'attributes': ['has a stove']}}}))
    out = str(tmp_path / 'seen.json')
    tool.main(['--taglist', str(tmp_path / 'tags.txt'), '--concepts',
               str(tmp_path / 'concepts.txt'), '--written', str(written),
               '--output', out])
    descs = load_descriptions(out, ['cats', 'kitchen', 'blue'])
    assert descs['kitchen'] == {'attributes': ['has a stove'],
                                'source': 'written'}
    cat = load_descriptions('nuswide81')['cat']
    assert descs['cats'] == dict({k: v for k, v in cat.items()
                                  if k not in ('source', 'synonyms')},
                                 source='derived')
    assert descs['blue'] == {'sentences': ['a photo of blue.'],
                             'source': 'template'}


def test_reply_deadline_and_size_cap_bound_one_request():
    """A server trickling a byte every 0.1 s is cut off at the deadline for
    the whole reply (not per read); a reply over the cap is not read on."""
    import time

    from granzsl_mm.datasets.descriptions.llm_client import (
        ChatCompletionsClient,
        MalformedReply,
        RetryableError,
    )

    class Trickle(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers['Content-Length']))
            big = self.path.endswith('big/chat/completions')
            self.send_response(200)
            self.send_header('Content-Length', '4000' if big else '300')
            self.end_headers()
            try:
                if big:
                    self.wfile.write(b'x' * 4000)
                    return
                for _ in range(30):  # bounded: 3 s at most
                    self.wfile.write(b' ')
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:  # the client hung up
                pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Trickle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f'http://127.0.0.1:{server.server_port}'
        client = ChatCompletionsClient(base + '/v1', 'm', timeout=0.8)
        start = time.monotonic()
        with pytest.raises(RetryableError, match=r'within 0\.8 s'):
            client.complete([dict(role='user', content='hi')])
        assert time.monotonic() - start < 2.5  # not 3 s of trickle
        capped = ChatCompletionsClient(base + '/big', 'm', timeout=5,
                                       max_reply_bytes=1000)
        with pytest.raises(MalformedReply, match='larger than 1000 bytes'):
            capped.complete([dict(role='user', content='hi')])
    finally:
        server.shutdown()
        server.server_close()
