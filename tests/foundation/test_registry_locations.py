"""Configs with ``default_scope='granzsl_mm'`` find every registered type
without ``register_all_modules``: the registries' locations import them."""
import ast
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Types cheap and safe to construct with no arguments (no files, no
# downloads): built for real; the others are looked up by the same path.
BUILT = {'HOOKS', 'METRICS', 'TRANSFORMS'}
BUILT_MODULE_PREFIXES = ('granzsl_mm.models.losses.',
                         'granzsl_mm.models.data_preprocessors')

CHILD = r'''
import json, sys
import mmengine.registry as root
from mmengine.registry import DefaultScope

todo = json.loads(sys.argv[1])
DefaultScope.get_instance('locations-test', scope_name='granzsl_mm')
failures = []
for registry_name, name, qualname, build in todo:
    registry = getattr(root, registry_name)
    with registry.switch_scope_and_registry(None) as scoped:
        cls = scoped.get(name)
    got = None if cls is None else f'{cls.__module__}.{cls.__qualname__}'
    if got != qualname:
        failures.append(f'{registry_name} {name}: {got} != {qualname}')
        continue
    if build:
        obj = registry.build(dict(type=name))
        if type(obj).__name__ != name:
            failures.append(f'{registry_name} {name}: built {type(obj)}')
assert 'granzsl_mm.setup_env' not in sys.modules
print(json.dumps(failures))
'''


def _registered():
    from granzsl_mm import register_all_modules
    from granzsl_mm import registry as ours
    register_all_modules(init_default_scope=False)
    todo = []
    for attr in ours.__all__:
        registry = getattr(ours, attr)
        if not hasattr(registry, 'module_dict'):
            continue
        for name, cls in sorted(registry.module_dict.items()):
            build = attr in BUILT or cls.__module__.startswith(
                BUILT_MODULE_PREFIXES)
            todo.append([attr, name, f'{cls.__module__}.{cls.__qualname__}',
                         build])
    return todo


@pytest.mark.slow
def test_every_registered_type_builds_from_the_default_scope_alone():
    todo = _registered()
    assert len(todo) >= 30
    assert {t[0] for t in todo} >= {'HOOKS', 'DATASETS', 'TRANSFORMS',
                                    'MODELS', 'METRICS'}
    proc = subprocess.run(
        [sys.executable, '-c', CHILD, json.dumps(todo)], cwd=REPO,
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def _registering_modules():
    """Modules of granzsl_mm that register a type in one of our registries
    (``@X.register_module`` with ``X`` imported from granzsl_mm.registry)."""
    found = set()
    for folder, _, files in os.walk(osp.join(REPO, 'granzsl_mm')):
        for file in files:
            if not file.endswith('.py'):
                continue
            path = osp.join(folder, file)
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read())
            ours = {a.asname or a.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom)
                    and node.module == 'granzsl_mm.registry'
                    for a in node.names}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute)
                        and node.attr == 'register_module'
                        and getattr(node.value, 'id', None) in ours):
                    rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
                    found.add(rel[:-len('.__init__')] if rel.endswith(
                        '.__init__') else rel)
    return found


def test_register_all_modules_reaches_every_registering_module():
    _registered()
    missing = sorted(m for m in _registering_modules() if m not in sys.modules)
    assert missing == [], ('add these to the wing registered by '
                           'granzsl_mm.registry.LOCATIONS')


@pytest.mark.parametrize('wing', ['engine', 'datasets', 'models',
                                  'evaluation'])
def test_each_wing_has_a_location(wing):
    from granzsl_mm.registry import LOCATIONS
    assert LOCATIONS[wing].startswith(f'granzsl_mm.{wing}')
