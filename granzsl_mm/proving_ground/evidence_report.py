"""Aggregate the proving ground's seeds: tables, paired differences, plot.

:func:`aggregate` turns the per-seed ``results.json`` contents into means,
standard deviations and 95 % Student-t intervals over seeds
(:mod:`.statistics`), paired differences of each ablation to full GranZSL
(and of a few method pairs), chance per seed and the per-level AP of the
unseen classes; :func:`write_evidence` writes ``evidence.json``,
``evidence.md`` and ``evidence.png``. With fewer than 10 seeds the words
stay descriptive: an effect "holds on every seed" or not, with its interval;
nothing is called significant.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence

from .statistics import paired_difference, summarize

__all__ = ['FULL', 'ABLATION_ROWS', 'COMPARISONS', 'aggregate',
           'render_markdown', 'write_evidence']

FULL = 'GranZSL, snippets'
ABLATION_ROWS = ('GranZSL, no snippets', 'GranZSL, no pair loss, snippets',
                 'GranZSL, no hierarchy sentences, snippets')
PROMPTS = 'CLIP zero-shot, prompts, global + local score'
COMPARISONS = ((FULL, PROMPTS), (FULL, 'CLIP zero-shot, prompts, global '
                                 'score'),
               ('MKT (stage 1)', PROMPTS), ('SigRL', 'MKT (stage 1)'),
               (FULL, 'MKT (stage 1)'))
METRICS = (('zsl_mAP', 'ZSL'), ('gzsl_mAP', 'GZSL'))
# the per-level panel: chance, the prompts, GranZSL, the image-tower methods
LEVEL_PLOT = ('chance (random scores, expected)',
              'CLIP zero-shot, prompts, global score', PROMPTS, FULL,
              'MKT (stage 1)', 'SigRL')


def _rows_by_method(result: dict) -> Dict[str, dict]:
    return {r['method']: r for r in result['rows']}


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
        names = list(tables[0][level_methods[0]]['levels'])
        per = {}
        for m in level_methods:
            per[m] = {lv: summarize([t[m]['levels'][lv] for t in tables])
                      for lv in names}
        chance_lv = [r['info'].get('level_chance') or {} for r in results]
        if all(lv in c for c in chance_lv for lv in names):
            per['chance (random scores, expected)'] = {
                lv: summarize([c[lv] for c in chance_lv]) for lv in names}
        out['levels'] = dict(names=names, methods=per, diffs={})
        if FULL in level_methods and PROMPTS in level_methods:
            out['levels']['diffs'][f'{FULL} - {PROMPTS}'] = {
                lv: paired_difference([t[FULL]['levels'][lv] for t in tables],
                                      [t[PROMPTS]['levels'][lv]
                                       for t in tables], labels=seeds)
                for lv in names}
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
            lines.append(f'| {m} | ' + ' | '.join(_ms(per[x])
                                                   for x in lv['names'])
                         + ' |')
        for name, per in lv['diffs'].items():
            lines += ['', f'{name}, per level (paired):', '',
                      '| level | mean diff ± sd | 95 % t-interval | '
                      'on every seed? |', '|---|---:|---:|---|']
            for x in lv['names']:
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
        ax.axvline(ch, color=f'C{k}', ls=':', lw=1)
    ax.set_yticks(ys, methods)
    ax.invert_yaxis()
    ax.set_xlabel(f"mAP (%), mean and 95 % t-interval over "
                  f"{len(ev['seeds'])} worlds; dotted: chance")
    ax.legend(loc='lower right')
    if lv:
        ax = axes[1]
        names = lv['names']
        shown = [m for m in LEVEL_PLOT if m in lv['methods']]
        xs = np.arange(len(names))
        width = 0.8 / max(1, len(shown))
        for k, m in enumerate(shown):
            per = lv['methods'][m]
            ax.bar(xs + (k - (len(shown) - 1) / 2) * width,
                   [per[x]['mean'] for x in names], width,
                   yerr=[per[x]['half_width'] or 0.0 for x in names],
                   capsize=2, label=m)
        ax.set_xticks(xs, names)
        ax.set_ylabel('ZSL AP of unseen classes (%)')
        ax.legend(fontsize=7, loc='upper right')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    with open(osp.join(work_dir, 'evidence.md'), 'w', encoding='utf-8') as f:
        f.write(text + '\n')
    with open(osp.join(work_dir, 'evidence.json'), 'w',
              encoding='utf-8') as f:
        json.dump(ev, f, indent=1)
    try:
        _plot(ev, osp.join(work_dir, 'evidence.png'))
    except ImportError:  # plots are optional
        pass
    return dict(evidence=ev, text=text)
