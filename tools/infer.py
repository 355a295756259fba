"""Open-vocabulary multi-label inference on images (files, folders, globs).

Examples::

    python tools/infer.py configs/clip_zeroshot_coco.py photos/ \
        --vocab coco80 --topk 5 --out results.json --show-dir vis/
    python tools/infer.py configs/granzsl_coco.py a.jpg b.jpg \
        --checkpoint work_dirs/granzsl_coco/epoch_30.pth \
        --vocab "cat, dog, red car" --threshold 5

``--vocab``: the model's ``all`` / ``seen`` / ``unseen`` classes (default
``all``), a named set (``coco80``, ``coco48_17``, ``nuswide81``), a text or
JSON file, a vocabulary file of learned embeddings (``*.pt``), or a
comma-separated list. The JSON output holds the vocabulary, the source of
each word (``learned`` or ``prompt``) and the ranked labels of every image.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Tag images with labels of '
                                     'any vocabulary')
    parser.add_argument('config', help='model config file')
    parser.add_argument('images', nargs='+',
                        help='image files, folders or glob patterns')
    parser.add_argument('--checkpoint', help='checkpoint to load')
    parser.add_argument('--vocab', default='all', help='vocabulary (see the '
                        'module docstring)')
    parser.add_argument('--topk', type=int, default=5,
                        help='labels per image (0: all)')
    parser.add_argument('--threshold', type=float,
                        help='keep labels scoring at least this')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--out', default='infer_results.json',
                        help='JSON output file')
    parser.add_argument('--show-dir', help='write a picture per image here')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--tta', action='store_true',
                        help='snippet test-time aggregation')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from granzsl_mm.apis import MultiLabelInferencer
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    inferencer = MultiLabelInferencer(cfg, pretrained=args.checkpoint,
                                      vocabulary=args.vocab,
                                      device=args.device, tta=args.tta)
    results = inferencer(args.images, topk=args.topk,
                         threshold=args.threshold,
                         batch_size=args.batch_size, show_dir=args.show_dir,
                         progress=not args.no_progress)
    out = dict(config=args.config, checkpoint=args.checkpoint,
               vocabulary=inferencer.vocabulary, sources=inferencer.sources,
               tta=args.tta, results=results)
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(out, f, indent=1)
    for res in results[:10]:
        labels = ', '.join(f'{label} {score:.3f}' for label, score in zip(
            res['labels'], res['scores']))
        print(f'{res["img_path"]}: {labels}')
    if len(results) > 10:
        print(f'... {len(results) - 10} more')
    print(f'{len(results)} images -> {args.out}'
          + (f', pictures in {args.show_dir}' if args.show_dir else ''))


if __name__ == '__main__':
    main()
