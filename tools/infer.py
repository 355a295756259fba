"""Open-vocabulary multi-label inference on images (files, folders, globs).

Examples::

    python tools/infer.py configs/clip_zeroshot_coco.py photos/ \
        --vocab coco80 --topk 5 --out results.json --show-dir vis/
    python tools/infer.py configs/granzsl_coco.py a.jpg b.jpg \
        --checkpoint work_dirs/granzsl_coco/epoch_30.pth \
        --vocab "cat, dog, red car" --threshold-learned 5 --threshold-prompt auto
    python tools/infer.py configs/clip_zeroshot_coco.py photos/ \
        --clip-checkpoint ~/weights/ViT-B-16.pt --score-act sigmoid

``--checkpoint`` takes a checkpoint of our model (refused when it does not
fit the config's model, e.g. an open_clip file); ``--clip-checkpoint`` takes
a local open_clip / OpenAI CLIP weights file for the config's CLIP (checked
against the config's architecture and activation).

``--vocab``: the model's ``all`` / ``seen`` / ``unseen`` classes (default
``all``), a named set (``coco80``, ``coco48_17``, ``nuswide81``), a text or
JSON file, a vocabulary file of learned embeddings (``*.pt``), or a
comma-separated list. The JSON output holds the vocabulary, the source of
each word (``learned`` or ``prompt``), the ranked labels of every image (one
ranking per source under ``by_source``: learned names and prompt words score
on different scales; a merged ``labels`` / ``scores`` ranking only for a
single source or with ``--calibration FILE``, a Platt calibration fitted on a
held-out split, see ``granzsl_mm.apis.score_calibration``), ``weights``
(every weight source used: config, checkpoint, CLIP file, cfg-options) and
``failures``: an image that cannot be read (or scored) is reported with its
path and the reason, the others are still tagged and written, and the tool
exits with status 1 at the end when any image failed.
"""
import _cli

import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Tuple

from mmengine.config import Config, DictAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Tag images with labels of '
                                     'any vocabulary')
    parser.add_argument('config', help='model config file')
    parser.add_argument('images', nargs='+',
                        help='image files, folders or glob patterns')
    parser.add_argument('--checkpoint', help='checkpoint of our model to '
                        'load (tools/train.py output)')
    parser.add_argument('--clip-checkpoint', metavar='FILE',
                        help='local open_clip / OpenAI CLIP weights file for '
                        "the config's CLIP (model.backbone.pretrained), or "
                        '"random" for a random tower (said in the output)')
    parser.add_argument('--score-act', choices=('none', 'sigmoid'),
                        default='none', help='activation on the scores')
    parser.add_argument('--calibration', metavar='FILE',
                        help='score calibration JSON (fitted on a held-out '
                        'split): calibrated probabilities, one merged '
                        'ranking across sources')
    parser.add_argument('--text-cache-dir', metavar='DIR',
                        help='on-disk cache of prompt features (default '
                        '~/.cache/granzsl_mm/text_features; "none": off)')
    parser.add_argument('--vocab', default='all', help='vocabulary: the '
                        "model's all / seen / unseen classes, a named set ("
                        + ', '.join(_named_sets()) + '), a text / JSON / .pt '
                        'file, or "cat, dog, red car" (default: %(default)s)')
    parser.add_argument('--topk', type=int, default=5,
                        help='labels per image (0: all)')
    # learned names and prompt words score on different scales (a learned
    # name near 11 where prompt words sit near -15): one threshold each
    parser.add_argument('--threshold-learned', type=_threshold, metavar='T',
                        help='keep learned names (GranZSL) scoring at least '
                        'T; "auto": the names that stand out on the image '
                        '(mean + 1 std of their scores); default: top-k only')
    parser.add_argument('--threshold-prompt', type=_threshold, metavar='T',
                        help='keep prompt words scoring at least T; "auto" '
                        'as above; default: top-k only. Either way the '
                        'summary marks with * the labels that stand out')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--out', default=None,
                        help='JSON output file (default: the JSON goes to '
                        'stdout and nothing is written)')
    parser.add_argument('--show-dir', help='write a picture per image here')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--tta', action='store_true',
                        help='snippet test-time aggregation')
    parser.add_argument('--decode-workers', type=int, default=0,
                        metavar='N', help='threads decoding the next batch '
                        'while the model scores this one (default 0: in '
                        'turn; benchmarks/cpu_inference.py measures both)')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def _tag(inferencer, items: list, args) -> Tuple[list, List[dict]]:
    """Tag images batch by batch; a failing batch is retried image by
    image so one bad file costs only itself."""
    from granzsl_mm.apis.inferencer import NonFiniteScoresError
    results, failures = [], []
    kwargs = dict(topk=args.topk, threshold=dict(
                      learned=args.threshold_learned,
                      prompt=args.threshold_prompt),
                  show_dir=args.show_dir, progress=False,
                  decode_workers=args.decode_workers)
    for start in range(0, len(items), args.batch_size):
        chunk = items[start:start + args.batch_size]
        try:
            results += inferencer(chunk, batch_size=len(chunk), **kwargs)
            continue
        except NonFiniteScoresError:  # the weights, not an image
            raise
        except Exception:  # find the bad file(s) of the batch
            pass
        for item in chunk:
            try:
                results += inferencer([item], batch_size=1, **kwargs)
            except Exception as e:
                reason = f'{type(e).__name__}: {str(e).strip()}'
                failures.append(dict(img_path=item, error=reason))
                print(f'failed: {item}: {reason}', file=sys.stderr,
                      flush=True)
        if not args.no_progress:
            print(f'{min(start + len(chunk), len(items))}/{len(items)} '
                  'images', file=sys.stderr, flush=True)
    return results, failures


def _weight_sources(cfg: Config, args) -> dict:
    """Every source of weights the run used."""
    model = cfg.get('model') or {}
    clip = {key: (model.get(key) or {}).get('pretrained')
            for key in ('backbone', 'text_encoder')
            if isinstance(model.get(key), dict)}
    return dict(config=osp.abspath(args.config),
                checkpoint=(osp.abspath(args.checkpoint) if args.checkpoint
                            else None),
                clip_checkpoint=(osp.abspath(args.clip_checkpoint)
                                 if args.clip_checkpoint else None),
                clip_pretrained=clip,
                vocabulary_file=model.get('vocabulary_file'),
                cfg_options=dict(args.cfg_options or {}),
                calibration=args.calibration)


def _threshold(text: str):
    from granzsl_mm.apis.score_ranking import parse_threshold
    try:
        return parse_threshold(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _named_sets() -> list:
    from granzsl_mm.apis.vocabularies import named_vocabularies
    return named_vocabularies()


def _build(cfg: Config, args):
    from granzsl_mm.apis import MultiLabelInferencer
    from granzsl_mm.apis.weights import CLIP_OPTIONS, set_clip_weights, weights_option
    from granzsl_mm.models.text import USER_CACHE_DIR, set_default_cache_dir
    if args.text_cache_dir:
        set_default_cache_dir(None if args.text_cache_dir == 'none'
                              else args.text_cache_dir)
    elif not os.environ.get('GRANZSL_MM_TEXT_CACHE'):
        set_default_cache_dir(USER_CACHE_DIR)
    if args.clip_checkpoint:
        set_clip_weights(cfg, args.clip_checkpoint,
                         option='--clip-checkpoint')
    with weights_option(CLIP_OPTIONS['infer']):
        return MultiLabelInferencer(cfg, pretrained=args.checkpoint,
                                    vocabulary=args.vocab,
                                    device=args.device, tta=args.tta,
                                    score_act=args.score_act,
                                    calibration=args.calibration)


def _labels_text(labels: list, scores: list, sources: list,
                 standout: dict) -> str:
    """``label score`` pairs, ``*`` on those that stand out in their
    source (``res['standout']``)."""
    def mark(score, source):
        limit = standout.get(source)
        return '*' if limit is not None and score >= limit else ''
    return ', '.join(f'{label} {score:.3f}{mark(score, source)}'
                     for label, score, source in zip(labels, scores, sources))


def _print_result(res: dict, stream=sys.stdout) -> None:
    standout = res.get('standout') or {}
    if res.get('merged'):
        labels = _labels_text(res['labels'], res['scores'], res['sources'],
                              standout)
        print(f'{res["img_path"]}: {labels}', file=stream)
        return
    print(f'{res["img_path"]}:', file=stream)
    for source, ranked in res['by_source'].items():
        labels = _labels_text(ranked['labels'], ranked['scores'],
                              [source] * len(ranked['labels']), standout)
        print(f'  {source}: {labels}', file=stream)


def main() -> int:
    args = parse_args()
    from granzsl_mm.apis import list_images
    from granzsl_mm.apis.inferencer import NonFiniteScoresError
    from granzsl_mm.apis.weights import (
        CheckpointMismatchError,
        ClipWeightsError,
        OfflineWeightsError,
    )
    from granzsl_mm.models.backbones import MissingClipWeightsError
    from granzsl_mm.models.backbones.open_clip_builder import ActivationMismatchError
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        inferencer = _build(cfg, args)
        images = list_images(args.images)
    except (CheckpointMismatchError, ClipWeightsError, OfflineWeightsError,
            ActivationMismatchError, MissingClipWeightsError,
            FileNotFoundError, KeyError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f'{sys.argv[0]}: error: {message}', file=sys.stderr)
        return 2
    try:
        results, failures = _tag(inferencer, images, args)
    except NonFiniteScoresError as e:  # every image would be NaN: no tags
        print(f'{sys.argv[0]}: error: {e}', file=sys.stderr)
        return 2
    out = dict(config=args.config, checkpoint=args.checkpoint,
               weights=_weight_sources(cfg, args),
               clip_weights=inferencer.clip_weights_line,
               vocabulary=inferencer.vocabulary, sources=inferencer.sources,
               score_act=args.score_act, tta=args.tta, results=results,
               failures=failures)
    text = json.dumps(out, indent=1)
    if args.out is None:  # JSON on stdout, the summary on stderr
        print(text)
        summary = sys.stderr
    else:
        from granzsl_mm.utils.atomic_io import atomic_write_text
        atomic_write_text(text + '\n', args.out)
        summary = sys.stdout
    for res in results[:10]:
        _print_result(res, summary)
    if len(results) > 10:
        print(f'... {len(results) - 10} more', file=summary)
    if results:
        print('(*: stands out on its image, at least the mean + 1 std of '
              "its source's scores)", file=summary)
    print(f'{len(results)} images -> {args.out or "stdout"}'
          + (f', pictures in {args.show_dir}' if args.show_dir else ''),
          file=summary)
    if failures:
        print(f'{len(failures)} image(s) could not be tagged (listed above '
              f'and under "failures" in the JSON):', file=sys.stderr)
        for failure in failures:
            print(f'  {failure["img_path"]}: {failure["error"]}',
                  file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main, clip_option='--clip-checkpoint FILE'))
