"""The import and naming rules of docs/architecture.md, checked on the
source (AST)."""
import ast
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Set, Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PKG = osp.join(REPO, 'granzsl_mm')
FRAMEWORK = {'mmengine', 'mmpretrain', 'open_clip', 'mmcv'}
HIGHER_THAN_UTILS = {'apis', 'engine', 'datasets', 'models', 'evaluation',
                     'proving_ground', 'web_app'}
TOP_WINGS = {'proving_ground', 'web_app'}
# The functional cores: torch / numpy (and the standard library) only.
CORE_PREFIXES = ('granzsl_mm.evaluation.functional',
                 'granzsl_mm.models.tta.snippets',
                 'granzsl_mm.models.losses.functional',
                 'granzsl_mm.structures')
# Module file names that repeat inside the package, each pair (or triple)
# the same concept seen from parallel wings.
REPEATED_NAMES = {
    'coco_zsl.py': 'datasets/converters writes the format datasets/zsl reads',
    'nuswide_zsl.py': 'datasets/converters writes the format datasets/zsl '
    'reads',
    'openimages_zsl.py': 'datasets/converters writes the format datasets/zsl '
    'reads',
    'granzsl.py': 'the GranZSL classifier and the converter of its released '
    'checkpoints',
    'mkt.py': 'the MKT classifier and the converter of its released '
    'checkpoints',
    'taidpt.py': 'the TaI-DPT classifier and the converter of its released '
    'prompt weights',
    'asymmetric.py': 'a loss function (losses/functional) and its registered '
    'module',
    'hinge_ranking.py': 'a loss function (losses/functional) and its '
    'registered module',
    'masked_bce.py': 'a loss function (losses/functional) and its registered '
    'module',
    'name_losses.py': 'loss functions (losses/functional) and their '
    'registered modules',
    'ranking.py': 'a loss function (losses/functional) and its registered '
    'module',
    'spml.py': 'a loss function (losses/functional) and its registered '
    'module',
    'multi_matching.py': 'a loss function (losses/functional) and its '
    'registered module',
}


def _module_name(path: str) -> str:
    name = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    return name[:-len('.__init__')] if name.endswith('.__init__') else name


def _sources() -> Dict[str, Tuple[str, ast.AST]]:
    found = {}
    for folder, _, files in os.walk(PKG):
        for file in files:
            if file.endswith('.py'):
                path = osp.join(folder, file)
                with open(path, encoding='utf-8') as f:
                    tree = ast.parse(f.read(), path)
                found[_module_name(path)] = (path, tree)
    return found


SOURCES = _sources()
MODULES = {name: tree for name, (_, tree) in SOURCES.items()}


def _imports(name: str, top_level_only: bool = False) -> List[str]:
    """Dotted names a module imports (``from a import b`` gives ``a`` and
    ``a.b``); relative imports resolved; optionally module-level only."""
    path = SOURCES[name][0]
    base = name.split('.')
    if not path.endswith('__init__.py'):
        base = base[:-1]
    out: List[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if not (top_level_only and in_function):
                if isinstance(child, ast.Import):
                    out.extend(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom):
                    if child.level:
                        parts = base[:len(base) - child.level + 1]
                        module = '.'.join(
                            parts + ([child.module] if child.module else []))
                    else:
                        module = child.module or ''
                    out.append(module)
                    out.extend(f'{module}.{a.name}' for a in child.names)
            visit(child, nested)

    visit(MODULES[name], False)
    return out


def _wing(dotted: str) -> str:
    parts = dotted.split('.')
    return parts[1] if len(parts) > 1 and parts[0] == 'granzsl_mm' else ''


def _resolve(dotted: str) -> str:
    """The granzsl_mm module a dotted import name lands in ('' if none)."""
    while dotted and dotted not in SOURCES:
        dotted = dotted.rpartition('.')[0]
    return dotted


def _violations(source_wing: str, forbidden: Set[str]) -> List[str]:
    bad = []
    for name in MODULES:
        if _wing(name) != source_wing:
            continue
        for imported in _imports(name):
            target = _resolve(imported) if imported.startswith(
                'granzsl_mm') else ''
            if target and _wing(target) in forbidden:
                bad.append(f'{name} imports {imported}')
    return sorted(set(bad))


def test_models_and_datasets_never_import_each_other():
    assert _violations('models', {'datasets'}) == []
    assert _violations('datasets', {'models'}) == []


def test_utils_imports_no_higher_wing():
    assert _violations('utils', HIGHER_THAN_UTILS) == []


def test_nothing_imports_proving_ground_or_web_app():
    bad = []
    for wing in {_wing(n) for n in MODULES} - TOP_WINGS:
        bad += _violations(wing, TOP_WINGS)
    # the two top wings do not import each other either
    bad += _violations('proving_ground', {'web_app'})
    bad += _violations('web_app', {'proving_ground'})
    assert bad == []


def _is_core(name: str) -> bool:
    return any(name == p or name.startswith(p + '.') for p in CORE_PREFIXES)


def _parents(name: str) -> List[str]:
    parts = name.split('.')
    return ['.'.join(parts[:i]) for i in range(1, len(parts))]


def _load_closure(name: str) -> Set[str]:
    """granzsl_mm modules executed by ``import name`` (module-level imports
    and parent packages, transitively)."""
    seen: Set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in SOURCES:
            continue
        seen.add(current)
        todo += _parents(current)
        if current in MODULES:
            for imported in _imports(current, top_level_only=True):
                if imported.startswith('granzsl_mm'):
                    todo.append(_resolve(imported))
    return seen


def test_functional_cores_import_no_framework():
    cores = [n for n in MODULES if _is_core(n)]
    assert len(cores) >= 4
    bad = []
    for core in cores:
        # not even lazily inside a function
        bad += [f'{core} imports {i}' for i in _imports(core)
                if i.split('.')[0] in FRAMEWORK]
        for module in _load_closure(core):
            if module not in MODULES:
                continue
            bad += [f'{core} loads {module}, which imports {i}'
                    for i in _imports(module, top_level_only=True)
                    if i.split('.')[0] in FRAMEWORK]
    assert sorted(set(bad)) == []


def _cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                strong(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            strong(node)
    return found


def test_no_import_cycles_between_wings():
    edges: Dict[str, Set[str]] = {}
    for name in MODULES:
        source = _wing(name)
        for imported in _imports(name):  # function-level imports count too
            target = _wing(_resolve(imported)) if imported.startswith(
                'granzsl_mm') else ''
            if source and target and target != source:
                edges.setdefault(source, set()).add(target)
    assert _cycles(edges) == []


def test_no_import_cycles_between_files():
    edges: Dict[str, Set[str]] = {}
    for name in MODULES:
        for imported in _imports(name, top_level_only=True):
            target = _resolve(imported) if imported.startswith(
                'granzsl_mm') else ''
            if target and target not in (name, 'granzsl_mm'):
                edges.setdefault(name, set()).add(target)
    assert _cycles(edges) == []


@pytest.mark.slow
def test_functional_cores_load_without_framework():
    code = ('import granzsl_mm.evaluation.functional, '
            'granzsl_mm.models.tta.snippets, '
            'granzsl_mm.models.losses.functional; import sys; '
            'loaded = sorted(m for m in sys.modules if m.split(".")[0] in '
            f'{sorted(FRAMEWORK)!r}); assert not loaded, loaded')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize('public', [
    'granzsl_mm.models.losses.name_alignment_loss',
    'granzsl_mm.models.losses.pair_distinct_loss',
    'granzsl_mm.models.losses.ranking_loss',
    'granzsl_mm.models.losses.spml_loss',
    'granzsl_mm.models.tta.snippet_boxes',
    'granzsl_mm.models.tta.aggregate_snippets',
    'granzsl_mm.evaluation.functional.multilabel_zsl_metrics',
])
def test_public_functions_are_the_functional_cores(public):
    import importlib
    module, _, attr = public.rpartition('.')
    func = getattr(importlib.import_module(module), attr)
    assert _is_core(func.__module__), func.__module__


def test_no_module_file_name_repeats_outside_the_listed_pairs():
    by_name: Dict[str, List[str]] = {}
    for path, _ in SOURCES.values():
        if osp.basename(path) != '__init__.py':
            by_name.setdefault(osp.basename(path), []).append(
                osp.relpath(path, PKG))
    repeated = {n: sorted(p) for n, p in by_name.items() if len(p) > 1}
    assert set(repeated) <= set(REPEATED_NAMES), {
        n: p for n, p in repeated.items() if n not in REPEATED_NAMES}
    stale = set(REPEATED_NAMES) - set(repeated)
    assert stale == set(), 'listed pairs that no longer repeat'


def test_no_shims_or_deprecated_aliases():
    found = []
    for path, _ in SOURCES.values():
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if 'DeprecationWarning' in text or 'moved_module' in text:
            found.append(osp.relpath(path, REPO))
    assert found == []


def test_configs_use_no_python_tricks():
    found = []
    for folder, _, files in os.walk(osp.join(REPO, 'configs')):
        for file in files:
            if file.endswith('.py'):
                with open(osp.join(folder, file), encoding='utf-8') as f:
                    if '__import__' in f.read():
                        found.append(file)
    assert found == []


# The modules that may call the raw loaders of untrusted files (the doors);
# everything else goes through them.
LOADER_DOORS = {
    'granzsl_mm/utils/safe_checkpoint.py',   # weights-only torch.load
    'granzsl_mm/utils/safe_pickle.py',       # restricted unpickler
    'granzsl_mm/utils/torchscript_archive.py',
}
RAW_LOADERS = re.compile(
    r'weights_only *= *False|pickle\.loads?\(|allow_pickle *= *True|'
    r'yaml\.(unsafe_)?load\(|torch\.jit\.load\(|torch\.load\((?![^)]*'
    r'weights_only *= *True)')


def test_untrusted_files_are_loaded_only_through_their_doors():
    found = []
    for top in ('granzsl_mm', 'tools'):
        for folder, _, files in os.walk(osp.join(REPO, top)):
            for file in files:
                path = osp.join(folder, file)
                rel = osp.relpath(path, REPO).replace(os.sep, '/')
                if not file.endswith('.py') or rel in LOADER_DOORS:
                    continue
                with open(path, encoding='utf-8') as f:
                    for number, line in enumerate(f, 1):
                        code = line.split('#', 1)[0]
                        if RAW_LOADERS.search(code) and '``' not in code:
                            found.append(f'{rel}:{number}: {line.strip()}')
    assert found == []
