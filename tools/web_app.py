"""Web app: open-vocabulary multi-label tagging in the browser (gradio).

    pip install -e '.[web]'
    python tools/web_app.py                      # proving-ground model
    python tools/web_app.py --config CFG --checkpoint CKPT --port 7860
    python tools/web_app.py --host 0.0.0.0       # reachable from others

Binds 127.0.0.1 unless --host says otherwise. See docs/web_app.md.

What the page may reach is fixed here, at start: configs and checkpoints
under the --allow-dir folders (default: the repository's configs/ and
work_dirs/; the folders of --config, --checkpoint and --clip-weights join
them), config overrides from the page only for the keys of
granzsl_mm.web_app.access.APP_OPTION_KEYS with non-path values, uploads of
images only. --cfg-options and --clip-weights are the operator's and apply
to every model.
"""
import argparse
import logging
import os
import os.path as osp
import sys

DEFAULT_CONFIG = 'configs/granzsl_demo.py'


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
    parser.add_argument('--threshold', type=float, default=0.0,
                        help='highlight labels scoring at least this '
                        '(initial value, default 0)')
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
    from granzsl_mm.web_app.access import AppAccess
    from granzsl_mm.web_app.inputs import latest_checkpoint, parse_cfg_options
    from granzsl_mm.web_app.uploads import ImageUploadsOnly

    clip_weights = args.clip_weights
    tiny_clip = osp.join(args.demo_root, 'tiny_clip.pt')
    if clip_weights is None and args.config is None and osp.isfile(tiny_clip):
        clip_weights = tiny_clip
    if clip_weights and not osp.isfile(clip_weights):
        print(f'--clip-weights: file not found: {clip_weights}',
              file=sys.stderr)
        return 1
    access = AppAccess(args.allow_dir or ['configs', args.work_dirs])
    models = discover_models('configs', args.work_dirs, args.demo_root,
                             clip_weights=clip_weights)
    config = args.config or DEFAULT_CONFIG
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
    # what the operator named at start is allowed
    access.allow(osp.dirname(osp.abspath(config)))
    if checkpoint:
        access.allow(osp.dirname(osp.abspath(checkpoint)))
    session = AppSession(device=args.device, demo_root=args.demo_root,
                          label_batch_size=args.label_batch_size,
                          access=access,
                          cfg_options=parse_cfg_options(
                              ' '.join(args.cfg_options)),
                          clip_weights=clip_weights)
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
                          threshold=args.threshold, tta=args.tta)
    from starlette.middleware import Middleware
    page.queue().launch(server_name=args.host, server_port=args.port,
                        share=False, show_error=False, quiet=False,
                        app_kwargs=dict(middleware=[
                            Middleware(ImageUploadsOnly)]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
