"""Web app: open-vocabulary multi-label tagging in the browser (gradio).

    pip install -e '.[web]'
    python tools/web_app.py                      # proving-ground model
    python tools/web_app.py --config CFG --checkpoint CKPT --port 7860
    python tools/web_app.py --host 0.0.0.0       # reachable from others

Binds 127.0.0.1 unless --host says otherwise. See docs/web_app.md.

What the page may reach is fixed here, at start: configs and checkpoints
under the --allow-dir folders (default: the repository's configs/ and
work_dirs/; the folders of --config, --checkpoint and --clip-weights join
them; a folder that holds the system temporary folder or gradio's upload
folder is refused), config overrides from the page only for the keys of
granzsl_mm.web_app.access.APP_OPTION_KEYS with finite, in-range, non-path
values, uploads of images only, through granzsl_mm.web_app.uploads.UploadDoor
with the --max-* bounds. --cfg-options and --clip-weights are the operator's
and apply to every model.
"""
import _cli

import argparse
import logging
import os
import os.path as osp
import sys

DEFAULT_CONFIG = 'configs/granzsl_demo.py'
_LIMIT_FLAGS = (
    ('--max-file-bytes', 'max_file_bytes', 'largest uploaded file, bytes'),
    ('--max-request-bytes', 'max_request_bytes',
     'largest upload request (all its files), bytes'),
    ('--max-total-bytes', 'max_total_bytes',
     'request bodies held at once by the server, bytes'),
    ('--max-concurrent-uploads', 'max_concurrent_uploads',
     'upload requests at once'),
    ('--max-files', 'max_files', 'files in one upload request'),
    ('--max-other-bytes', 'max_other_bytes',
     'body of any request that is not an upload, bytes'),
    ('--max-stored-bytes', 'max_stored_bytes',
     'uploads accepted while the server keeps them (70 min), bytes'),
)



def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=None,
                        help=f'model config (default {DEFAULT_CONFIG}, with '
                        'its trained checkpoint when there is one)')
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint (default: the newest one of the '
                        "config's work dir, if any)")
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='config overrides applied '
                        'to every model (trusted: not limited like the '
                        "page's box)")
    parser.add_argument('--clip-weights', default=None,
                        help='local CLIP weights file set as '
                        'model.backbone.pretrained of every model (default: '
                        '<demo-root>/tiny_clip.pt when it exists and no '
                        '--config is given)')
    parser.add_argument('--allow-dir', action='append', default=None,
                        metavar='FOLDER', help='folder whose configs and '
                        'checkpoints the page may open (repeatable; default '
                        'configs/ and work_dirs/)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to bind (default 127.0.0.1, local only)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--topk', type=int, default=10,
                        help='labels shown per image (initial value)')
    parser.add_argument('--threshold-learned', default='auto', metavar='T',
                        help='highlight learned class names scoring at least '
                        'T (initial value; a number, "none", or "auto": '
                        "those that stand out, mean + 1 std of the image's "
                        'scores; default auto)')
    parser.add_argument('--threshold-prompt', default='auto', metavar='T',
                        help='highlight prompt words scoring at least T '
                        '(initial value, as --threshold-learned)')
    from granzsl_mm.web_app.uploads import UploadLimits
    limits = UploadLimits()
    for flag, field, help_text in _LIMIT_FLAGS:
        parser.add_argument(flag, type=int, default=getattr(limits, field),
                            dest=field, help=f'{help_text} (default '
                            f'{getattr(limits, field)})')
    parser.add_argument('--tta', action='store_true',
                        help='snippet aggregation on (initial value)')
    parser.add_argument('--demo-root', default='data/demo',
                        help='proving-ground world (tools/make_demo_data.py)')
    parser.add_argument('--work-dirs', default='work_dirs',
                        help='where ready-made models are looked for')
    parser.add_argument('--label-batch-size', type=int, default=512)
    parser.add_argument('--no-preload', action='store_true',
                        help='load the model at the first run, not at start')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    try:
        import gradio  # noqa: F401
    except ImportError:
        print("The web app needs gradio: pip install -e '.[web]'",
              file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING)
    from granzsl_mm.web_app import AppSession, build_web_app, discover_models
    from granzsl_mm.web_app.access import AllowListError, AppAccess
    from granzsl_mm.web_app.app import launch_web_app
    from granzsl_mm.web_app.inputs import latest_checkpoint, parse_cfg_options
    from granzsl_mm.web_app.session import check_thresholds
    from granzsl_mm.web_app.uploads import UploadLimits
    try:
        limits = UploadLimits(**{field: getattr(args, field)
                                 for _, field, _ in _LIMIT_FLAGS})
    except ValueError as e:
        print(f'web_app.py: error: --max-* flags: {e}', file=sys.stderr)
        return 2
    try:
        check_thresholds(dict(learned=args.threshold_learned,
                              prompt=args.threshold_prompt))
    except ValueError as e:
        print(f'web_app.py: error: --threshold-*: {e}', file=sys.stderr)
        return 2

    clip_weights = args.clip_weights
    tiny_clip = osp.join(args.demo_root, 'tiny_clip.pt')
    if clip_weights is None and args.config is None and osp.isfile(tiny_clip):
        clip_weights = tiny_clip
    if clip_weights and not osp.isfile(clip_weights):
        print(f'--clip-weights: file not found: {clip_weights}',
              file=sys.stderr)
        return 1
    try:  # before anything is loaded
        access = AppAccess(args.allow_dir or ['configs', args.work_dirs])
        # what the operator names at start is allowed (its folder), unless
        # that folder holds the temporary root or gradio's uploads
        config = args.config or DEFAULT_CONFIG
        access.allow(osp.dirname(osp.abspath(config)),
                     reason=f'--config {config}')
        if clip_weights:
            access.allow(osp.dirname(osp.abspath(clip_weights)),
                         reason=f'--clip-weights {clip_weights}')
    except AllowListError as e:
        print(f'web_app.py: error: {e}', file=sys.stderr)
        return 2
    models = discover_models('configs', args.work_dirs, args.demo_root,
                             clip_weights=clip_weights)
    if clip_weights:  # the same checks as infer.py --clip-checkpoint
        from mmengine.config import Config

        from granzsl_mm.apis.weights import set_clip_weights
        try:
            set_clip_weights(Config.fromfile(config), clip_weights,
                             option='--clip-weights')
        except ValueError as e:  # wrong architecture / activation / file
            print(f'error: {e}', file=sys.stderr)
            return 1
    if not os.environ.get('GRANZSL_MM_TEXT_CACHE'):
        from granzsl_mm.models.text import USER_CACHE_DIR, set_default_cache_dir
        set_default_cache_dir(USER_CACHE_DIR)  # prompt features on disk
    checkpoint = args.checkpoint
    found = [m for m in models.values() if osp.abspath(m[0]) == osp.abspath(
        config)]
    if checkpoint is None and found:
        checkpoint = found[0][1]  # trained weights, if any
    elif checkpoint is None:
        stem = osp.splitext(osp.basename(config))[0]
        checkpoint = latest_checkpoint(osp.join(args.work_dirs, stem)) or ''
    try:
        if checkpoint:
            access.allow(osp.dirname(osp.abspath(checkpoint)),
                         reason=f'--checkpoint {checkpoint}')
        session = AppSession(device=args.device, demo_root=args.demo_root,
                             label_batch_size=args.label_batch_size,
                             access=access,
                             cfg_options=parse_cfg_options(
                                 ' '.join(args.cfg_options)),
                             clip_weights=clip_weights)
    except AllowListError as e:
        print(f'web_app.py: error: {e}', file=sys.stderr)
        return 2
    options = ''
    if not args.no_preload:
        try:
            session.load(config, checkpoint, options)
            print(f'Loaded {config}' + (f' with {checkpoint}' if checkpoint
                                        else ' (no checkpoint)'), flush=True)
        except Exception as e:  # still serve: the page can pick another one
            print(f'Could not load {config}: {e}', file=sys.stderr, flush=True)
    page = build_web_app(session, models, config=config,
                          checkpoint=checkpoint, options=options,
                          topk=args.topk,
                          thresholds=dict(learned=args.threshold_learned,
                                          prompt=args.threshold_prompt),
                          tta=args.tta)
    launch_web_app(page, host=args.host, port=args.port, limits=limits)
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main, clip_option='--clip-weights FILE'))
