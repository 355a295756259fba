"""Reports of the proving ground: one world's table, several worlds'
evidence.

:func:`write_results` writes one world's ``results.json`` (the record of
:func:`granzsl_mm.proving_ground.pipeline.run_world`), ``results.md`` (mAP
and its ratio to chance, the table's protocol and the MKT / SigRL papers'
apart) and ``results.png``.

:func:`aggregate` turns the per-seed ``results.json`` contents into means,
standard deviations and 95 % Student-t intervals over seeds
(:mod:`.statistics`), paired differences of each ablation to full GranZSL
(and of a few method pairs), chance per seed and the per-level AP of the
unseen classes; :func:`write_evidence` writes ``evidence.json``,
``evidence.md`` and ``evidence.png``; :func:`report_evidence` does so from
the finished seeds of a work dir. With fewer than 10 seeds the words stay
descriptive: an effect "holds on every seed" or not, with its interval;
nothing is called significant.
"""
import io
import json
import os
import os.path as osp
from typing import Dict, List, Sequence

from granzsl_mm.datasets.descriptions.io import atomic_write_json
from granzsl_mm.utils.atomic_io import atomic_write_bytes, atomic_write_text

from .statistics import paired_difference, summarize

__all__ = ['CHANCE', 'FULL', 'ABLATION_ROWS', 'TAGCLIP', 'DUALCOOP',
           'RECOVER_MATCH', 'TAIDPT', 'SIGMOID_GLOBAL', 'SIGMOID_BOTH',
           'COMPARISONS', 'write_results',
           'results_figure',
           'aggregate', 'render_markdown', 'write_evidence',
           'report_evidence']

CHANCE = 'chance (random scores, expected)'
FULL = 'GranZSL, snippets'
ABLATION_ROWS = ('GranZSL, no snippets', 'GranZSL, no pair loss, snippets',
                 'GranZSL, no hierarchy sentences, snippets')
PROMPTS = 'CLIP zero-shot, prompts, global + local score'
TAGCLIP = 'CLIP zero-shot, prompts, TagCLIP score'
DUALCOOP = 'DualCoOp'
RECOVER_MATCH = 'Recover-and-Match'
TAIDPT = 'TaI-DPT'
# the tower pre-trained with the sigmoid loss, the prompts scored as
# SigLIP scores them
SIGMOID_GLOBAL = 'SigLIP-style zero-shot, prompts, global score'
SIGMOID_BOTH = 'SigLIP-style zero-shot, prompts, global + local score'
COMPARISONS = ((FULL, PROMPTS), (FULL, 'CLIP zero-shot, prompts, global '
                                 'score'),
               ('MKT (stage 1)', PROMPTS), ('SigRL', 'MKT (stage 1)'),
               (FULL, 'MKT (stage 1)'),
               # the comparators added later: each to the prompts and to
               # GranZSL, Recover-and-Match also to DualCoOp
               (TAGCLIP, PROMPTS), (FULL, TAGCLIP),
               (DUALCOOP, PROMPTS), (FULL, DUALCOOP),
               (RECOVER_MATCH, PROMPTS), (FULL, RECOVER_MATCH),
               (RECOVER_MATCH, DUALCOOP),
               (TAIDPT, PROMPTS), (FULL, TAIDPT),
               # each SigLIP-style row to the CLIP prompts of its score
               (SIGMOID_GLOBAL, 'CLIP zero-shot, prompts, global score'),
               (SIGMOID_BOTH, PROMPTS), (FULL, SIGMOID_BOTH))
METRICS = (('zsl_mAP', 'ZSL'), ('gzsl_mAP', 'GZSL'))
# the per-level panel: chance, the prompts, GranZSL, the methods trained on
# images
LEVEL_PLOT = (CHANCE, 'CLIP zero-shot, prompts, global score', PROMPTS,
              TAGCLIP, SIGMOID_BOTH, FULL, TAIDPT, 'MKT (stage 1)', 'SigRL',
              DUALCOOP, RECOVER_MATCH)


def _rows_by_method(result: dict) -> Dict[str, dict]:
    return {r['method']: r for r in result['rows']}


def _save_figure(fig, path: str) -> None:
    """Save a matplotlib figure as PNG through the atomic writer; close
    it."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    buf = io.BytesIO()
    # tight: the legends above the axes stay whole
    fig.savefig(buf, format='png', dpi=100, bbox_inches='tight')
    plt.close(fig)
    atomic_write_bytes(buf.getvalue(), path)


def _ratio_table(rows: Sequence[tuple], chance: dict) -> List[str]:
    """Markdown rows ``(method, values)`` with mAP and its ratio to
    ``chance``."""
    lines = ['| method | ZSL mAP (unseen) | x chance | GZSL mAP | x chance |',
             '|---|---:|---:|---:|---:|']
    for name, r in rows:
        lines.append(
            f"| {name} | {r['zsl_mAP']:.1f} | "
            f"{r['zsl_mAP'] / chance['zsl_mAP']:.2f} | {r['gzsl_mAP']:.1f} | "
            f"{r['gzsl_mAP'] / chance['gzsl_mAP']:.2f} |")
    return lines


def results_figure(rows: Sequence[dict], chance: dict):
    """One world's ``results.png``: ZSL and GZSL mAP of every method.

    Each bar carries its value; the chance levels are dotted lines named
    in the legend, which sits outside the axes (it hides no bar).

    Args:
        rows (Sequence[dict]): ``method``, ``zsl_mAP``, ``gzsl_mAP``.
        chance (dict): The chance row (``zsl_mAP``, ``gzsl_mAP``).

    Returns:
        matplotlib.figure.Figure: The figure (not saved).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) + 1.8))
    ys = np.arange(len(rows))
    top = 1.0
    for k, (key, label) in enumerate(METRICS):
        values = [r[key] for r in rows]
        bars = ax.barh(ys + (k - 0.5) * 0.4, values, 0.4, color=f'C{k}',
                       label=f'{label} mAP')
        ax.bar_label(bars, fmt='%.1f', fontsize=8, padding=2)
        ax.axvline(chance[key], color=f'C{k}', ls=':', lw=1.2,
                   label=f'{label} chance ({chance[key]:.1f})')
        top = max([top] + values)
    ax.set_yticks(ys, [r['method'] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.12)  # room for the values
    ax.set_xlabel('mAP (%)')
    ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=9,
              frameon=False)
    return fig


def write_results(work_dir: str, results: dict) -> Dict:
    """Write one world's ``results.json``, ``results.md`` and
    ``results.png``.

    Args:
        work_dir (str): Output folder.
        results (dict): The world's record: ``info`` and ``rows``
            (``method``, ``zsl_mAP``, ``gzsl_mAP``; ``all_images`` for the
            methods also scored under ``info['all_images_protocol']``).

    Returns:
        dict: ``header`` and ``table`` (markdown).
    """
    os.makedirs(work_dir, exist_ok=True)
    rows, info = results['rows'], results['info']
    chance = next(r for r in rows if r['method'].startswith('chance'))
    lines = _ratio_table([(r['method'], r) for r in rows], chance)
    other = info.get('all_images_protocol')
    scored_all = [r for r in rows if 'all_images' in r]
    if other and scored_all:
        # MKT / SigRL's own protocol: every test image scored
        lines += ['', 'Every test image scored (the MKT / SigRL papers\' '
                  'protocol):', '']
        lines += _ratio_table(
            [(CHANCE, other['chance'])] +
            [(r['method'], r['all_images']) for r in scored_all],
            other['chance'])
    table = '\n'.join(lines)
    header = (f"Synthetic world: {info['num_classes']} classes "
              f"({info['num_seen']} seen, {info['num_unseen']} unseen), "
              f"{info['num_test']} test images; mAP in %.")
    atomic_write_text(header + '\n\n' + table + '\n',
                      osp.join(work_dir, 'results.md'))
    atomic_write_json(results, osp.join(work_dir, 'results.json'))
    try:
        _save_figure(results_figure(rows, chance),
                     osp.join(work_dir, 'results.png'))
    except ImportError:  # plots are optional
        pass
    return dict(table=table, header=header)


def aggregate(results: Sequence[dict]) -> Dict:
    """Statistics over seeds of per-seed results (see the module doc).

    Args:
        results (Sequence[dict]): ``results.json`` contents, one per seed.

    Returns:
        dict: ``seeds``, ``methods`` (method -> metric -> summary, plus
        ``x_chance``), ``chance`` per seed, ``ablations`` / ``comparisons``
        (paired differences), ``levels`` (per-level unseen AP summaries and
        GranZSL minus prompts per level), ``selected`` (choices per seed),
        ``info`` of the first seed.
    """
    if not results:
        raise ValueError('no seed results to aggregate')
    seeds = [r['info']['index'] for r in results]
    tables = [_rows_by_method(r) for r in results]
    methods = [r['method'] for r in results[0]['rows']]
    for t in tables[1:]:
        if [m for m in methods if m in t] != methods:
            raise ValueError('the seeds ran different methods; aggregate '
                             'runs of the same settings')
    chance_name = methods[0]
    out = dict(seeds=seeds, methods={}, chance=[], ablations={},
               comparisons={}, levels={}, selected={},
               info=results[0]['info'],
               seed_info=[dict(seeds=r['info'].get('seeds'),
                               world=r['info'].get('world'),
                               timings=r['info'].get('timings'))
                          for r in results])
    for t, r in zip(tables, results):
        out['chance'].append(dict(seed=r['info']['index'],
                                  zsl_mAP=t[chance_name]['zsl_mAP'],
                                  gzsl_mAP=t[chance_name]['gzsl_mAP'],
                                  level_chance=r['info'].get('level_chance')))
    for m in methods:
        entry = {}
        for key, _ in METRICS:
            vals = [t[m][key] for t in tables]
            entry[key] = summarize(vals)
            ratios = [t[m][key] / t[chance_name][key] for t in tables]
            entry[key]['x_chance'] = summarize(ratios)
        out['methods'][m] = entry
        sel = [t[m].get('selected') for t in tables]
        if any(s is not None for s in sel):
            out['selected'][m] = [
                {k: v for k, v in (s or {}).items() if k != 'val'}
                for s in sel]

    def diff(a: str, b: str) -> Dict:
        return {key: paired_difference([t[a][key] for t in tables],
                                       [t[b][key] for t in tables],
                                       labels=seeds)
                for key, _ in METRICS}

    for m in ABLATION_ROWS:
        if m in methods and FULL in methods:
            out['ablations'][m] = diff(m, FULL)
    for a, b in COMPARISONS:
        if a in methods and b in methods:
            out['comparisons'][f'{a} - {b}'] = diff(a, b)
    level_methods = [m for m in methods if 'levels' in tables[0][m]]
    if level_methods:
        # a level may have no value in a world (no unseen class of it with
        # positives, under empty_class='skip'): summarised over the worlds
        # that have one, left out where none has
        names = []
        for t in tables:
            for m in level_methods:
                names += [lv for lv in t[m]['levels'] if lv not in names]

        def values(m: str, lv: str) -> list:
            return [t[m]['levels'].get(lv) for t in tables]

        per = {}
        for m in level_methods:
            per[m] = {lv: summarize([v for v in values(m, lv)
                                     if v is not None])
                      for lv in names
                      if any(v is not None for v in values(m, lv))}
        chance_lv = [r['info'].get('level_chance') or {} for r in results]
        if all(c.get(lv) is not None for c in chance_lv for lv in names):
            per[CHANCE] = {
                lv: summarize([c[lv] for c in chance_lv]) for lv in names}
        out['levels'] = dict(names=names, methods=per, diffs={})
        if FULL in level_methods and PROMPTS in level_methods:
            diffs = {}
            for lv in names:
                pairs = [(a, b, s) for a, b, s in zip(
                    values(FULL, lv), values(PROMPTS, lv), seeds)
                    if a is not None and b is not None]
                if pairs:
                    a, b, s = zip(*pairs)
                    diffs[lv] = paired_difference(a, b, labels=s)
            out['levels']['diffs'][f'{FULL} - {PROMPTS}'] = diffs
    return out


def _ms(s: dict) -> str:
    if s['n'] < 2:
        return f"{s['mean']:.1f}"
    return f"{s['mean']:.1f} ± {s['sd']:.1f}"


def _ci(s: dict) -> str:
    if s['ci'] is None:
        return 'n/a'
    return f"[{s['ci'][0]:.1f}, {s['ci'][1]:.1f}]"


def _signed_ci(s: dict) -> str:
    if s['ci'] is None:
        return 'n/a'
    return f"[{s['ci'][0]:+.1f}, {s['ci'][1]:+.1f}]"


def _every(d: dict) -> str:
    n = d['n']
    if n == 1:
        return 'one world only'
    if d['every_seed'] == 'higher':
        return f'higher on every seed ({n}/{n})'
    if d['every_seed'] == 'lower':
        return f'lower on every seed ({n}/{n})'
    return f"mixed: higher on {d['num_higher']} of {n}"


def _diff_table(title: str, diffs: Dict[str, dict]) -> List[str]:
    lines = [f'| {title} | metric | mean diff ± sd | 95 % t-interval | '
             'per seed | on every seed? |', '|---|---|---:|---:|---|---|']
    for name, by_metric in diffs.items():
        for key, label in METRICS:
            d = by_metric[key]
            per = ', '.join(f'{v:+.1f}' for v in d['values'])
            lines.append(f"| {name} | {label} | {d['mean']:+.1f}"
                         + (f" ± {d['sd']:.1f}" if d['n'] > 1 else '')
                         + f' | {_signed_ci(d)} | {per} | {_every(d)} |')
    return lines


def render_markdown(ev: dict, run: dict) -> str:
    """The evidence report in markdown (tables and wording)."""
    info = ev['info']
    n = len(ev['seeds'])
    lines = [
        f"Synthetic world `{info.get('world_name', '?')}`: "
        f"{info['num_classes']} classes ({info['num_seen']} seen, "
        f"{info['num_unseen']} unseen; unseen per level: "
        + ', '.join(f'{k} {v}' for k, v in
                    (info.get('unseen_per_level') or {}).items())
        + f"), {info['num_test']} test and {info.get('num_val', 0)} "
        f"validation images per world; {n} independent world(s) "
        f"(seed indices {ev['seeds']}); mAP in %, mean ± sd over worlds, "
        f"95 % Student-t interval (df = {n - 1}).", '',
        '| method | ZSL mAP | 95 % CI | x chance | GZSL mAP | 95 % CI | '
        'x chance |', '|---|---:|---:|---:|---:|---:|---:|']
    for m, e in ev['methods'].items():
        z, g = e['zsl_mAP'], e['gzsl_mAP']
        lines.append(f"| {m} | {_ms(z)} | {_ci(z)} | "
                     f"{z['x_chance']['mean']:.2f} | {_ms(g)} | {_ci(g)} | "
                     f"{g['x_chance']['mean']:.2f} |")
    lines += ['', 'Chance (exact expected mAP of random scores, same '
              'protocol) per world: ' + '; '.join(
                  f"seed {c['seed']}: ZSL {c['zsl_mAP']:.1f}, GZSL "
                  f"{c['gzsl_mAP']:.1f}" for c in ev['chance'])]
    if ev['ablations']:
        lines += ['', 'Paired differences to full GranZSL (ablation minus '
                  f'`{FULL}`, per world):', '']
        lines += _diff_table('ablation', ev['ablations'])
    if ev['comparisons']:
        lines += ['', 'Paired differences between methods (per world):', '']
        lines += _diff_table('comparison', ev['comparisons'])
    lv = ev.get('levels')
    if lv:
        lines += ['', 'ZSL AP of the unseen classes per granularity level '
                  '(mean ± sd over worlds):', '',
                  '| method | ' + ' | '.join(lv['names']) + ' |',
                  '|---|' + '---:|' * len(lv['names'])]
        for m, per in lv['methods'].items():
            lines.append(f'| {m} | ' + ' | '.join(
                _ms(per[x]) if x in per else 'n/a' for x in lv['names'])
                         + ' |')
        for name, per in lv['diffs'].items():
            lines += ['', f'{name}, per level (paired):', '',
                      '| level | mean diff ± sd | 95 % t-interval | '
                      'on every seed? |', '|---|---:|---:|---|']
            for x in [x for x in lv['names'] if x in per]:
                d = per[x]
                lines.append(f"| {x} | {d['mean']:+.1f}"
                             + (f" ± {d['sd']:.1f}" if d['n'] > 1 else '')
                             + f' | {_signed_ci(d)} | {_every(d)} |')
    if ev['selected']:
        lines += ['', 'Chosen on the validation images (per world):', '']
        for m, sel in ev['selected'].items():
            parts = []
            for seed, s in zip(ev['seeds'], sel):
                what = ', '.join(f'{k} {v:g}' if isinstance(v, float)
                                 else f'{k} {v}' for k, v in s.items())
                parts.append(f'seed {seed}: {what}')
            lines.append(f'- {m}: ' + '; '.join(parts))
    if 'settings' in run:
        lines += ['', f"Run: {run.get('threads')} torch thread(s); settings "
                  f"{json.dumps(run['settings'])}."]
    timings = [r.get('timings') for r in ev.get('seed_info', [])]
    if timings and all(timings):
        lines += ['', 'Stage wall time per world (s): ' + '; '.join(
            f"seed {s}: {sum(float(v) for v in t.values()):.0f}"
            for s, t in zip(ev['seeds'], timings))]
    if n == 1:
        lines += ['', 'One world: no spread, no interval; run --seeds N '
                  '(make evidence) for evidence.']
    elif n < 10:
        lines += ['', f'With {n} worlds the intervals are wide; effects are '
                  'described as holding on every seed or not, never as '
                  'significant.']
    return '\n'.join(lines)


def _plot(ev: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    methods = [m for m in ev['methods'] if not m.startswith('chance')]
    lv = ev.get('levels') or {}
    ncols = 2 if lv else 1
    fig, axes = plt.subplots(1, ncols, figsize=(7 * ncols,
                                                0.5 * len(methods) + 2))
    axes = np.atleast_1d(axes)
    ys = np.arange(len(methods))
    ax = axes[0]
    for k, (key, label) in enumerate(METRICS):
        means = [ev['methods'][m][key]['mean'] for m in methods]
        errs = [ev['methods'][m][key]['half_width'] or 0.0 for m in methods]
        ax.barh(ys + (k - 0.5) * 0.4, means, 0.4, xerr=errs, capsize=3,
                label=label)
        ch = float(np.mean([c[key] for c in ev['chance']]))
        ax.axvline(ch, color=f'C{k}', ls=':', lw=1,
                   label=f'{label} chance ({ch:.1f})')
    ax.set_yticks(ys, methods)
    ax.invert_yaxis()
    ax.set_xlabel(f"mAP (%), mean and 95 % t-interval over "
                  f"{len(ev['seeds'])} worlds; dotted: chance")
    # above the axes: a legend inside would cover the longest bars
    ax.legend(loc='lower left', bbox_to_anchor=(0.0, 1.0), ncol=2,
              fontsize=9, frameon=False)
    if lv:
        ax = axes[1]
        names = lv['names']
        shown = [m for m in LEVEL_PLOT if m in lv['methods']]
        xs = np.arange(len(names))
        width = 0.8 / max(1, len(shown))
        # one colour per method (the default cycle repeats after 10)
        colours = plt.get_cmap('tab20')
        for k, m in enumerate(shown):
            per = lv['methods'][m]
            ax.bar(xs + (k - (len(shown) - 1) / 2) * width,
                   [per[x]['mean'] if x in per else np.nan for x in names],
                   width,
                   yerr=[(per[x]['half_width'] or 0.0) if x in per else 0.0
                         for x in names],
                   capsize=2, label=m, color=colours(k % 20))
        ax.set_xticks(xs, names)
        ax.set_ylabel('ZSL AP of unseen classes (%)')
        ax.legend(fontsize=8, loc='lower left', bbox_to_anchor=(0.0, 1.0),
                  ncol=2, frameon=False)
    _save_figure(fig, path)


def write_evidence(work_dir: str, results: Sequence[dict], run: dict) -> Dict:
    """Write ``evidence.json``, ``evidence.md`` and ``evidence.png``.

    Args:
        work_dir (str): Output folder.
        results (Sequence[dict]): Per-seed results.
        run (dict): How the run went (settings, threads, wall time).

    Returns:
        dict: ``evidence`` (the JSON content) and ``text`` (markdown).
    """
    os.makedirs(work_dir, exist_ok=True)
    ev = aggregate(results)
    ev['run'] = run
    text = render_markdown(ev, run)
    atomic_write_text(text + '\n', osp.join(work_dir, 'evidence.md'))
    atomic_write_json(ev, osp.join(work_dir, 'evidence.json'))
    try:
        _plot(ev, osp.join(work_dir, 'evidence.png'))
    except ImportError:  # plots are optional
        pass
    return dict(evidence=ev, text=text)


def report_evidence(work_dir: str, seeds: int, first_seed: int = 0) -> Dict:
    """Aggregate finished seeds (``seed_<i>/results.json``) without running
    anything (e.g. seeds run by separate processes).

    Args:
        work_dir (str): The evidence work dir.
        seeds (int): Number of seeds.
        first_seed (int): Index of the first.

    Returns:
        dict: ``evidence`` (``evidence.json``'s content) and ``text``
        (markdown), as :func:`write_evidence`.

    Raises:
        FileNotFoundError: Listing the seeds without ``results.json``.
    """
    results, missing = [], []
    for index in range(first_seed, first_seed + seeds):
        path = osp.join(work_dir, f'seed_{index}', 'results.json')
        if not osp.isfile(path):
            missing.append(path)
            continue
        with open(path, encoding='utf-8') as f:
            results.append(json.load(f))
    if missing:
        raise FileNotFoundError(f'seeds not finished: {missing}')
    timings = [r['info'].get('timings', {}) for r in results]
    run = dict(report_only=True, seconds_per_seed=[
        round(sum(float(v) for v in t.values()), 1) for t in timings])
    return write_evidence(work_dir, results, run)
