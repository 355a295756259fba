"""Installation of granzsl_mm."""
import os.path as osp

from setuptools import find_packages, setup


def _version() -> str:
    scope: dict = {}
    with open(osp.join('granzsl_mm', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def _readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


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
    package_data={'granzsl_mm': ['**/*.json', '**/*.txt', '**/*.yml']},
    install_requires=[
        'torch>=2.0',
        'torchvision>=0.15',
        'mmengine>=0.10.7,<0.11',
        'mmpretrain>=1.2.0,<1.3',
        'open_clip_torch>=2.24',
        'pycocotools>=2.0.6',
        'numpy',
        'matplotlib',
        'tqdm',
        'setuptools<81',  # mmengine's Config imports pkg_resources
    ],
    extras_require={
        # `mmcv` ships compiled ops; MMPretrain needs none, so the lite build
        # is enough. Users with a full `mmcv` install without this extra.
        'lite': ['mmcv-lite>=2.0.0,<2.3'],
        'tests': ['pytest>=7', 'scikit-learn', 'ruff'],
        # Web demo (tools/demo/web_demo.py) and its browser test. Playwright
        # drives the system Chromium (apt-get install chromium); it never
        # downloads a browser. gradio pins Pillow<13: the suite is tested
        # with the Pillow this extra brings.
        'demo': ['gradio>=6.0,<7', 'playwright>=1.40'],
    },
    license='Apache-2.0',
)
