"""Results of the proving ground: markdown table, JSON and a bar chart."""
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np

__all__ = ['write_results']


def write_results(work_dir: str, rows: List[dict], info: dict) -> Dict:
    """Write ``results.json``, ``results.md`` and ``results.png``."""
    os.makedirs(work_dir, exist_ok=True)
    chance = next(r for r in rows if r['method'].startswith('chance'))
    lines = [
        '| method | ZSL mAP (unseen) | x chance | GZSL mAP | x chance |',
        '|---|---:|---:|---:|---:|']
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['zsl_mAP']:.1f} | "
            f"{r['zsl_mAP'] / chance['zsl_mAP']:.2f} | {r['gzsl_mAP']:.1f} | "
            f"{r['gzsl_mAP'] / chance['gzsl_mAP']:.2f} |")
    other = info.get('all_images_protocol')
    scored_all = [r for r in rows if 'all_images' in r]
    if other and scored_all:
        # MKT / SigRL's own protocol: every test image scored
        lines += ['', 'Every test image scored (the MKT / SigRL papers\' '
                  'protocol):', '',
                  '| method | ZSL mAP (unseen) | x chance | GZSL mAP | '
                  'x chance |', '|---|---:|---:|---:|---:|']
        for name, r in [('chance (random scores, expected)',
                         other['chance'])] + [
                (r['method'], r['all_images']) for r in scored_all]:
            lines.append(
                f"| {name} | {r['zsl_mAP']:.1f} | "
                f"{r['zsl_mAP'] / other['chance']['zsl_mAP']:.2f} | "
                f"{r['gzsl_mAP']:.1f} | "
                f"{r['gzsl_mAP'] / other['chance']['gzsl_mAP']:.2f} |")
    table = '\n'.join(lines)
    header = (f"Synthetic world: {info['num_classes']} classes "
              f"({info['num_seen']} seen, {info['num_unseen']} unseen), "
              f"{info['num_test']} test images; mAP in %.")
    with open(osp.join(work_dir, 'results.md'), 'w', encoding='utf-8') as f:
        f.write(header + '\n\n' + table + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(info=info, rows=rows), f, indent=1)
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
        ys = np.arange(len(rows))
        ax.barh(ys - 0.2, [r['zsl_mAP'] for r in rows], 0.4, label='ZSL')
        ax.barh(ys + 0.2, [r['gzsl_mAP'] for r in rows], 0.4, label='GZSL')
        ax.set_yticks(ys, [r['method'] for r in rows])
        ax.invert_yaxis()
        ax.axvline(chance['zsl_mAP'], color='C0', ls=':', lw=1)
        ax.axvline(chance['gzsl_mAP'], color='C1', ls=':', lw=1)
        ax.set_xlabel('mAP (%)')
        ax.legend(loc='lower right')
        fig.tight_layout()
        fig.savefig(osp.join(work_dir, 'results.png'), dpi=100)
        plt.close(fig)
    except ImportError:  # plots are optional
        pass
    return dict(table=table, header=header)
