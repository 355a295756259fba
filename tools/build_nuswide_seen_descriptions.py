"""Build the description file of the 925 NUS-WIDE seen tags.

Seen tags = the 1000 tags of ``TagList1k.txt`` minus those among the 81
concepts of ``Concepts81.txt``. For each tag, in this order of preference:

1. ``written``: a hand-written entry from ``--written`` (by default the
   shipped ``nuswide_seen925.json`` itself, so re-running keeps them);
2. ``derived``: the structured fields of a described class whose name is the
   tag's singular/plural form or lists the tag as a synonym (from the
   ``--derive-from`` files, by default the shipped COCO 80 / NUS-WIDE 81);
3. ``template``: one sentence ``"a photo of <tag>."`` (abstract tags, places,
   camera brands, adjectives, ...).

A full set for all tags comes from ``tools/generate_descriptions.py`` with a
language model.

    python tools/build_nuswide_seen_descriptions.py \\
        --taglist data/nus_wide/TagList1k.txt \\
        --concepts data/nus_wide/Concepts81.txt
"""
import _cli

import argparse
import os.path as osp
import sys
from collections import Counter

from granzsl_mm.datasets.descriptions import (
    load_descriptions,
    save_descriptions,
    shipped_description_file,
)

NOTES = (
    'Descriptions of the 925 NUS-WIDE seen tags (TagList1k.txt minus the 75 '
    'tags among Concepts81.txt), built by tools/build_nuswide_seen_descriptions'
    '.py. source "written": structured fields written by hand for granzsl_mm '
    'for tags that are objects or scenes; "derived": fields copied from the '
    'COCO 80 / NUS-WIDE 81 description of the same concept (singular/plural '
    'form or synonym); "template": a single template sentence for the other '
    'tags (abstract words, places, camera brands, adjectives), which were not '
    'described. A full set for all tags comes from '
    'tools/generate_descriptions.py with a language model.')


def _variants(tag: str) -> list:
    out = [tag, tag + 's', tag + 'es']
    if tag.endswith('es'):
        out.append(tag[:-2])
    if tag.endswith('s'):
        out.append(tag[:-1])
    return out


def build(taglist: str, concepts: str, written: dict, sources: list) -> dict:
    """Entries for the seen tags, in TagList1k order.

    Args:
        taglist (str): Path of ``TagList1k.txt``.
        concepts (str): Path of ``Concepts81.txt``.
        written (dict): Hand-written entries (class -> entry).
        sources (list[dict]): Described classes to derive from.

    Returns:
        dict: Tag -> entry.
    """
    tags = [t.strip() for t in open(taglist, encoding='utf-8') if t.strip()]
    unseen = {t.strip() for t in open(concepts, encoding='utf-8') if t.strip()}
    seen = [t for t in tags if t not in unseen]
    if len(seen) != 925:
        print(f'warning: {len(seen)} seen tags (925 expected)')
    extra = sorted(set(written) - set(seen))
    if extra:
        raise ValueError(f'written entries for tags that are not seen tags: '
                         f'{extra}')
    out = {}
    for tag in seen:
        entry = written.get(tag)
        if entry and entry.get('source', 'written') == 'written':
            out[tag] = dict(entry, source='written')
            continue
        base = None
        for descs in sources:
            for name in _variants(tag):
                if name in descs:
                    base = descs[name]
                    break
            base = base or next((e for e in descs.values()
                                 if tag in e.get('synonyms', [])), None)
            if base:
                break
        if base:
            out[tag] = {k: v for k, v in base.items()
                        if k not in ('source', 'synonyms')}
            out[tag]['source'] = 'derived'
        else:
            out[tag] = {'sentences': [f'a photo of {tag}.'],
                        'source': 'template'}
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--taglist', required=True, help='TagList1k.txt')
    p.add_argument('--concepts', required=True, help='Concepts81.txt')
    p.add_argument('--written', default=None,
                   help='description file with hand-written entries '
                   '(default: the shipped nuswide_seen925.json, if any)')
    p.add_argument('--derive-from', nargs='*',
                   default=['nuswide81', 'coco80'],
                   help='description files (or shipped names) to derive from')
    p.add_argument('--output', default=None,
                   help='default: the shipped nuswide_seen925.json')
    args = p.parse_args(argv)
    shipped = osp.join(osp.dirname(shipped_description_file('coco80')),
                       'nuswide_seen925.json')
    written_path = args.written or (shipped if osp.isfile(shipped) else None)
    written = load_descriptions(written_path) if written_path else {}
    sources = [load_descriptions(s) for s in args.derive_from]
    out = build(args.taglist, args.concepts, written, sources)
    save_descriptions(out, args.output or shipped, NOTES)
    counts = Counter(e['source'] for e in out.values())
    print(f'{len(out)} seen tags: {dict(counts)} -> {args.output or shipped}')


if __name__ == '__main__':
    sys.exit(_cli.run(main))
