"""Installation of granzsl_mm."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

#: What ``mim`` reads from ``granzsl_mm/.mim`` (as MMPretrain ships it).
MIM_FILES = ('tools', 'configs', 'model-index.yml')


def _version() -> str:
    scope: dict = {}
    with open(osp.join('granzsl_mm', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def _readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def add_mim_extension() -> None:
    """Put ``tools/``, ``configs/`` and ``model-index.yml`` into
    ``granzsl_mm/.mim`` so that ``mim train/test/search/run granzsl_mm``
    find them, as MMPretrain's ``setup.py`` does.

    An editable install (``pip install -e .``: ``editable_wheel``, or the
    legacy ``develop``) links them (relative symbolic links into the
    repository); building a wheel or an sdist copies them. Other commands
    (``egg_info``, ``dist_info``) leave ``.mim`` as it is.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if os.name == 'nt' else 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim_root = osp.join(repo, 'granzsl_mm', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    # Generated: git ignores the whole folder.
    with open(osp.join(mim_root, '.gitignore'), 'w', encoding='utf-8') as f:
        f.write('*\n')
    for name in MIM_FILES:
        src = osp.join(repo, name)
        if not osp.exists(src):  # e.g. an sdist that already holds .mim
            continue
        dst = osp.join(mim_root, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_root), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


add_mim_extension()

setup(
    name='granzsl_mm',
    version=_version(),
    description=('Zero-shot and open-vocabulary multi-label recognition with '
                 'CLIP (GranZSL, SigRL, MKT, SPML) as an MMPretrain plugin'),
    long_description=_readme(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    # `.mim/` (tools, configs, model-index.yml) is listed in MANIFEST.in.
    package_data={'granzsl_mm': ['**/*.json', '**/*.txt', '**/*.yml']},
    install_requires=[
        'torch>=2.0',
        'torchvision>=0.15',
        'mmengine>=0.10.7,<0.11',
        'mmpretrain>=1.2.0,<1.3',
        'open_clip_torch>=2.24',
        'pycocotools>=2.0.6',
        'numpy',
        'scipy',  # Student-t intervals of the proving ground
        'matplotlib',
        'tqdm',
        'setuptools<81',  # mmengine's Config imports pkg_resources
    ],
    extras_require={
        # `mmcv` ships compiled ops; MMPretrain needs none, so the lite build
        # is enough. Users with a full `mmcv` install without this extra.
        'lite': ['mmcv-lite>=2.0.0,<2.3'],
        # openmim: `mim train/test/search/run granzsl_mm ...` (tested). Its
        # openxlab dependency pins setuptools~=60.2 (and old rich/requests)
        # in recent releases; resolved together with torch (setuptools>=77)
        # pip backtracks to openxlab 0.0.11, which pins nothing. Installing
        # `openmim` alone into an existing venv downgrades setuptools.
        'tests': ['pytest>=7', 'scikit-learn', 'ruff', 'openmim>=0.3.7',
                  'onnx>=1.14', 'onnxruntime>=1.16'],
        # tools/deployment/export_onnx.py (opset 18: antialiased Resize) and
        # its onnxruntime check.
        'onnx': ['onnx>=1.14', 'onnxruntime>=1.16'],
        # Visualizer backends beyond the local one (configs/_base_/
        # default_runtime.py: vis_backends=[dict(type='TensorboardVisBackend')]
        # or 'WandbVisBackend', 'MLflowVisBackend').
        'tensorboard': ['tensorboard>=2.10'],
        'wandb': ['wandb'],
        'mlflow': ['mlflow'],
        # Web app (tools/web_app.py) and its browser test. Playwright
        # drives the system Chromium (apt-get install chromium); it never
        # downloads a browser. gradio pins Pillow<13: the suite is tested
        # with the Pillow this extra brings.
        'web': ['gradio>=6.0,<7', 'playwright>=1.40'],
    },
    license='Apache-2.0',
)
