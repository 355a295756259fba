"""Every command shown in README.md and docs/*.md, run as written.

The shell blocks of the documentation (```bash / sh / shell, and plain
blocks whose lines start with ``python`` / ``make`` / ``bash``) are parsed;
a continuation line is joined, a ``# comment`` dropped, and an option in
brackets (``[--tta]``, the synopsis' optional parts) left out. Every
command is in exactly one of three tables:

* ``RUNS`` — runs on a generated world (a small synthetic world in
  ``data/demo`` of a temporary folder, with a random tiny CLIP as its
  ``tiny_clip.pt``; the configs linked from the repository) and exits 0;
* ``FAILS`` — needs data or weights that cannot exist offline (COCO,
  NUS-WIDE, Open Images, released checkpoints, CLIP ViT-B/16 weights, an
  LLM server); it runs and must stop with its one-line message (exit status
  2, ``<tool>: error: ...`` naming what is missing, no traceback);
* ``NOT_RUN`` — not a tool run (installs, ``make`` targets that run other
  tests, servers, launchers of several processes), with the reason.

The tools run in this process through their ``__main__`` (as ``python
tools/x.py`` would), from the temporary folder; ``python -m mim
train/test/run granzsl_mm`` runs the tool mim launches
(tests/tools/test_mim.py runs mim itself). A command that is in no table,
or a table entry no longer in the docs, fails the quick test below.
"""
import glob
import os
import os.path as osp
import shlex
import shutil
from typing import Dict, Iterator, List, Tuple

import pytest

from tests.fixtures.run_tools import REPO, run_tool

DOCS = ['README.md'] + sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'docs', '*.md')))
SHELL_LANGS = ('bash', 'sh', 'shell', 'console')
PLAIN_STARTS = ('python', '.venv/bin/python', 'make', 'bash')
# the synopsis' placeholder for a work dir (docs/training.md) -> the work dir
# of the documented training run
PLACEHOLDERS = {'W': 'work_dirs/x'}

#: command -> what it shows (runs and exits 0 on the generated world)
RUNS = {
    '.venv/bin/python tools/test.py configs/clip_zeroshot_demo.py none':
        'the demo world tested with its tiny CLIP (docs/install.md)',
    'python -m mim train granzsl_mm configs/granzsl_demo.py --work-dir '
    'work_dirs/x': 'GranZSL trained on the world (mim -> tools/train.py)',
    'python tools/analysis_tools/analyze_logs.py plot_curve '
    'W/*/vis_data/scalars.json --keys loss':
        "the training run's curves (W: its work dir)",
    'python tools/misc/print_config.py configs/granzsl_coco.py':
        'a paper config printed',
    'python tools/test.py configs/clip_zeroshot_demo.py none --out '
    'work_dirs/preds.pth': 'a prediction dump of the demo world',
    'python tools/analysis_tools/analyze_results.py work_dirs/preds.pth '
    '--config configs/clip_zeroshot_demo.py --out-dir work_dirs/analysis '
    "--only 'blue circle' 'red ring'":
        'best and worst images of two classes, from that dump',
    'python tools/misc/verify_dataset.py configs/granzsl_demo.py':
        "the demo world checked against its world.json",
}

_COCO = 'COCO 2014 and its ZSL files (docs/datasets.md)'
_VIT = 'the CLIP ViT-B/16 weights (open_clip cache or --clip-checkpoint)'
_OFFLINE = ('not cached and this machine is offline',)
_NUS = 'NUS-WIDE and its ZSL files (docs/datasets.md)'
# a missing dataset file is named, with where it comes from
_COCO_WORDS = ('data/coco/', 'docs/datasets.md')
_NUS_WORDS = ('data/nus_wide/', 'docs/datasets.md')
#: command -> (what it needs that cannot exist here, words of its message)
FAILS = {
    'python tools/train.py configs/granzsl_coco.py': (_VIT, _OFFLINE),
    'python tools/test.py configs/granzsl_coco.py '
    'work_dirs/granzsl_coco/epoch_30.pth --tta': (_VIT, _OFFLINE),
    'python tools/test.py configs/clip_zeroshot_coco.py none':
        (_VIT, _OFFLINE + ('--clip-checkpoint',)),
    'python tools/infer.py configs/clip_zeroshot_coco.py photos/ --vocab '
    'coco80 --topk 5 --out results.json --show-dir vis/':
        (_VIT, _OFFLINE + ('--clip-checkpoint',)),
    "python tools/infer.py configs/granzsl_coco.py 'photos/*.jpg' --checkpoint "
    "work_dirs/granzsl_coco/epoch_30.pth --vocab 'dog, cat, red umbrella' "
    '--threshold-learned 5 --tta': (_VIT + ' and a COCO checkpoint',
                                    _OFFLINE),
    'python tools/deployment/export_onnx.py configs/clip_zeroshot_coco.py '
    '--vocab coco80 --out work_dirs/clip_zeroshot_coco80.onnx':
        (_VIT, _OFFLINE),
    'python tools/deployment/export_onnx.py configs/granzsl_coco.py '
    '--checkpoint work_dirs/granzsl_coco/epoch_30.pth --snippets --out '
    'work_dirs/granzsl_coco_snippets.onnx': (_VIT, _OFFLINE),
    'python tools/dataset_converters/coco_zsl.py --train '
    'data/coco/annotations/instances_train2014.json --val '
    'data/coco/annotations/instances_val2014.json --out-dir '
    'data/coco/annotations_rebuilt': (_COCO, ('instances_train2014.json',)),
    'python tools/dataset_converters/nuswide_zsl.py data/nus_wide '
    '--from-pickles': ('the NUS-WIDE download', ('data/nus_wide',)),
    'python tools/dataset_converters/openimages_zsl.py data/openimages '
    '--out-dir data/openimages --splits train test':
        ('the Open Images v4 download', ('data/openimages',)),
    'python tools/generate_descriptions.py --classes classes.txt --output '
    'data/descriptions/nus_wide_zsl.json --base-url http://localhost:8000/v1 '
    '--model Qwen2.5-7B-Instruct --concurrency 8':
        ('a class list and an LLM server', ('classes.txt',)),
    'python tools/extract_features.py configs/granzsl_coco.py --out-dir '
    'work_dirs/coco_feats --dense': (_VIT + ' and ' + _COCO, _OFFLINE),
    'python tools/extract_features.py configs/granzsl_coco.py --out-dir '
    'work_dirs/coco_feats --dense --checkpoint '
    'work_dirs/granzsl_coco/epoch_30.pth': (_VIT + ' and ' + _COCO,
                                            _OFFLINE),
    'python tools/train.py configs/sigrl_nuswide.py --amp':
        ('a CUDA device for --amp, ' + _VIT + ' and NUS-WIDE',
         ('--amp', 'CUDA')),
    'python tools/test.py configs/sigrl_nuswide.py '
    'work_dirs/sigrl_nuswide/epoch_20.pth': (_VIT + ' and ' + _NUS,
                                             _NUS_WORDS),
    'python tools/model_converters/mkt_to_ours.py MKT_STAGE1.pth mkt.pth':
        ("MKT's released checkpoint", ('MKT_STAGE1.pth',)),
    'python tools/model_converters/sigrl_to_ours.py SIGRL.pth sigrl.pth':
        ("SigRL's released checkpoint", ('SIGRL.pth',)),
    'python tools/test.py configs/mkt_nuswide.py mkt.pth':
        ('the converted MKT checkpoint and ' + _NUS, _NUS_WORDS),
    'python tools/generate_pseudo_labels.py configs/spml_coco_sigrl_clip.py':
        ('CLIP ViT-L/14-336 weights and ' + _COCO, _COCO_WORDS),
    'python tools/test.py configs/granzsl_coco.py W/epoch_30.pth':
        (_VIT + ' and a 30-epoch COCO run', _OFFLINE),
    'python tools/misc/verify_dataset.py configs/granzsl_coco.py':
        (_COCO, ('data/coco/cls_ids.pickle',)),
    'python tools/analysis_tools/eval_scores.py preds.pkl --num-seen 48 '
    '--drop-empty-images': ('the prediction dump of a COCO test run',
                            ('preds.pkl',)),
    'python tools/visualization/browse_dataset.py configs/granzsl_coco.py '
    '--phase test': (_COCO, _COCO_WORDS),
    'python tools/analysis_tools/get_flops.py configs/clip_zeroshot_coco.py':
        (_VIT, _OFFLINE),
    'python tools/model_converters/publish_model.py W/epoch_30.pth '
    'granzsl_coco.pth': ('a 30-epoch run (the demo trains 5)',
                         ('epoch_30.pth',)),
    'python tools/run_demo.py --world v2 --seeds 5 --work-dir '
    'work_dirs/evidence --report-only': ('five finished evidence worlds',
                                         ('work_dirs/evidence',)),
}

_SAME_TEST = ('the same run as `.venv/bin/python tools/test.py '
              'configs/clip_zeroshot_demo.py none` (mim launches '
              'tools/test.py: tests/tools/test_mim.py)')
#: command -> why it is not run here
NOT_RUN = {
    'make demo': 'the full proving ground, minutes on 2 cores; its runner '
                 'is tested on small worlds in tests/proving_ground/',
    'make test': 'the test suite itself',
    'make evidence': 'five worlds (about 25 min); tests/proving_ground/',
    'make screenshots': 'the browser test, tests/web_app/test_browser.py',
    'python tools/run_demo.py --work-dir work_dirs/demo --data-root '
    'data/demo --threads 1': 'what `make demo` runs (above)',
    'python tools/run_demo.py --world v2 --seeds 5 --work-dir '
    'work_dirs/evidence --data-root data/evidence --threads 1':
        'what `make evidence` runs (above)',
    'tools/dist_train.sh configs/granzsl_coco.py 8':
        '8 processes; the launchers are run by '
        'tests/tools/test_launchers_and_env.py',
    'bash tools/dist_train.sh configs/mkt_coco.py 8': '8 GPUs (launchers: '
        'tests/tools/test_launchers_and_env.py)',
    'bash tools/dist_test.sh configs/granzsl_coco.py CKPT 8 --tta':
        '8 GPUs and a checkpoint (launchers: tests/tools/)',
    'NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 bash '
    'tools/dist_train.sh configs/sigrl_nuswide.py 8': 'two machines',
    'NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29500 bash '
    'tools/dist_train.sh configs/sigrl_nuswide.py 8': 'two machines',
    'GPUS=16 tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR':
        'a Slurm cluster',
    'GPUS=8 tools/slurm_test.sh PARTITION JOB CONFIG CKPT': 'a Slurm cluster',
    'PYTHON=/opt/conda/bin/python tools/dist_train.sh CONFIG 8':
        'another Python install (find_python.sh: tests/tools/)',
    'python tools/web_app.py': 'a server; tests/web_app/test_browser.py '
                               'serves and drives it',
    'python tools/web_app.py --port 7860 &': 'a server (above)',
    'chromium --headless --no-sandbox --disable-gpu --hide-scrollbars '
    '--window-size=1280,1400 --virtual-time-budget=15000 '
    '--screenshot=web_app.png http://127.0.0.1:7860/':
        'a browser on a running server (make screenshots does it tested)',
    '. .venv/bin/activate': 'the shell set-up, not a command to test',
    'pip install torch torchvision': 'an install (network)',
    "pip install -e '.[lite]'": 'an install (network)',
    'pip install -e .': 'an install (network)',
    "pip install -e '.[web]'": 'an install (network)',
    'python -m mim list': 'tests/tools/test_mim.py',
    'python -m mim search granzsl_mm': 'tests/tools/test_mim.py (and its '
                                       'paper field)',
    'python -m mim test granzsl_mm configs/clip_zeroshot_demo.py '
    '--checkpoint none': _SAME_TEST,
    'python -m mim run granzsl_mm print_config configs/granzsl_coco.py':
        'the same run as `python tools/misc/print_config.py '
        'configs/granzsl_coco.py` (mim run launches it)',
    'python benchmarks/openimages_eval.py --paths generate streaming '
    'streaming_file openimages loop today --today-rows 62728':
        'a benchmark of minutes (tests/benchmarks/test_openimages_eval.py)',
    'bash benchmarks/gpu_suite.sh --json gpu_figures.json': 'a GPU',
    'bash benchmarks/gpu_suite.sh --small':
        'the CPU smoke run of tests/benchmarks/test_gpu_suite.py',
    'python benchmarks/cpu_inference.py':
        'a benchmark of minutes (ViT-B/16; the tiny-tower run of '
        'tests/benchmarks/test_cpu_inference.py)',
    'python benchmarks/cpu_inference.py --snippets no':
        'a benchmark of minutes (ViT-B/16; the tiny-tower run of '
        'tests/benchmarks/test_cpu_inference.py)',
}

# `mim <verb> granzsl_mm` -> the tool mim launches
_MIM_TOOLS = {'train': 'tools/train.py', 'test': 'tools/test.py'}


def _fences(path: str) -> Iterator[Tuple[str, List[str]]]:
    """(language, lines) of every fenced block of a Markdown file."""
    lang, lines = None, []
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        for line in f:
            text = line.rstrip('\n')
            if text.lstrip().startswith('```'):
                if lang is None:
                    lang, lines = text.strip()[3:].strip(), []
                else:
                    yield lang, lines
                    lang = None
            elif lang is not None:
                lines.append(text)


def _drop_optional(tokens: List[str]) -> List[str]:
    """Leave out bracketed options (``[--tta]``, ``[--resume [CKPT]]``)."""
    out, depth = [], 0
    for token in tokens:
        opened = token.count('[') if token.startswith('[') or depth else 0
        if opened or depth:
            depth += opened - token.count(']')
            depth = max(depth, 0)
            continue
        out.append(token)
    return out


def documented_commands() -> Dict[str, List[str]]:
    """Every documented command (normalised) -> the files that show it."""
    found: Dict[str, List[str]] = {}
    for path in DOCS:
        for lang, lines in _fences(path):
            if lang not in SHELL_LANGS and lang != '':
                continue
            text = '\n'.join(lines).replace('\\\n', ' ')
            for line in text.splitlines():
                line = line.strip()
                if not line or line.startswith('#'):
                    continue
                if lang == '' and not line.startswith(PLAIN_STARTS):
                    continue  # a plain block of output or a tree
                background = line.rstrip().endswith('&')
                tokens = _drop_optional(shlex.split(line.rstrip('& '),
                                                    comments=True))
                # a token quoted in the docs stays quoted (no shell glob)
                command = ' '.join(
                    shlex.quote(t) if f"'{t}'" in line or f'"{t}"' in line
                    else t for t in tokens) + (' &' if background else '')
                found.setdefault(command, []).append(path)
    return found


def test_every_documented_command_is_accounted_for():
    documented = documented_commands()
    tables = [set(RUNS), set(FAILS), set(NOT_RUN)]
    assert not (tables[0] & tables[1] or tables[0] & tables[2]
                or tables[1] & tables[2])
    listed = set().union(*tables)
    new = {c: p for c, p in documented.items() if c not in listed}
    assert new == {}, 'documented commands in no table of this test'
    stale = listed - set(documented)
    assert stale == set(), 'table entries no longer in the docs'


# ------------------------------------------------------------ the world
@pytest.fixture(scope='module')
def checkout(small_demo_world, tmp_path_factory) -> str:
    """A folder the commands run from: configs/ linked, data/demo the small
    world with a random tiny CLIP as its tiny_clip.pt."""
    from granzsl_mm.models.backbones.open_clip_builder import build_open_clip
    from granzsl_mm.utils.safe_checkpoint import atomic_torch_save
    root = str(tmp_path_factory.mktemp('checkout'))
    os.symlink(osp.join(REPO, 'configs'), osp.join(root, 'configs'))
    shutil.copytree(small_demo_world, osp.join(root, 'data', 'demo'))
    model, _ = build_open_clip('TinyCLIP-world', 'random')
    atomic_torch_save(model.state_dict(),
                      osp.join(root, 'data', 'demo', 'tiny_clip.pt'))
    return root


def _argv(command: str) -> Tuple[str, List[str]]:
    """(tool script, argv) of a documented command, as the shell and mim
    would run it (placeholders replaced, unquoted globs expanded)."""
    tokens = shlex.split(command)
    if tokens[:3] == ['python', '-m', 'mim']:
        verb, rest = tokens[3], tokens[5:]
        if verb == 'test':  # mim test CONFIG --checkpoint C -> test.py CONFIG C
            at = rest.index('--checkpoint')
            rest = rest[:at] + [rest[at + 1]] + rest[at + 2:]
        tokens = ['python', _MIM_TOOLS[verb], *rest]
    script, argv = tokens[1], []
    for token in tokens[2:]:
        head, sep, tail = token.partition('/')
        if sep and head in PLACEHOLDERS:
            token = PLACEHOLDERS[head] + '/' + tail
        if '*' in token and shlex.quote(token) not in command:
            argv += sorted(glob.glob(token)) or [token]  # the shell's glob
        else:
            argv.append(token)
    return script, argv


def _run(command: str, capsys) -> Tuple[int, str]:
    script, argv = _argv(command)
    try:
        run_tool(script, argv)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    return code, capsys.readouterr().err


@pytest.mark.slow
def test_documented_commands_run_or_fail_with_one_line(checkout, capsys,
                                                       monkeypatch):
    monkeypatch.chdir(checkout)
    monkeypatch.setenv('GRANZSL_MM_TEXT_CACHE',
                       osp.join(checkout, 'text_cache'))
    documented = documented_commands()
    problems = []
    for command in RUNS:  # in order: the training run comes before its logs
        code, err = _run(command, capsys)
        if code != 0:
            problems.append(f'{command}: exit {code}\n{err[-1500:]}')
    assert osp.isfile(osp.join(checkout, 'work_dirs', 'x', 'epoch_5.pth'))
    curves = glob.glob(osp.join(checkout, 'work_dirs', 'x', '*',
                                'vis_data', 'curves.png'))
    assert curves, 'plot_curve wrote no curves.png beside the log'
    for command, (needs, words) in FAILS.items():
        code, err = _run(command, capsys)
        errors = [line for line in err.splitlines() if ': error: ' in line]
        if (code != 2 or len(errors) != 1 or 'Traceback' in err
                or not all(w in errors[0] for w in words)):
            problems.append(f'{command} (needs {needs}; shown in '
                            f'{", ".join(documented[command])}): exit {code}'
                            f', expected 2 and one line with {words}:\n'
                            f'{err[-1500:]}')
    assert problems == [], '\n\n'.join(problems)
