"""Web demo: open-vocabulary multi-label tagging in the browser (gradio).

    pip install -e '.[demo]'
    python tools/demo/web_demo.py                      # proving-ground model
    python tools/demo/web_demo.py --config CFG --checkpoint CKPT --port 7860
    python tools/demo/web_demo.py --host 0.0.0.0       # reachable from others

Binds 127.0.0.1 unless --host says otherwise. See docs/web_demo.md.
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
                        metavar='KEY=VALUE', help='config overrides, e.g. '
                        'model.backbone.pretrained=data/demo/tiny_clip.pt')
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
        print("The web demo needs gradio: pip install -e '.[demo]'",
              file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING)
    from granzsl_mm.demo import DemoSession, build_web_demo, discover_models
    from granzsl_mm.demo.inputs import latest_checkpoint

    models = discover_models('configs', args.work_dirs, args.demo_root)
    config = args.config or DEFAULT_CONFIG
    checkpoint, options = args.checkpoint, ' '.join(args.cfg_options)
    found = [m for m in models.values() if osp.abspath(m[0]) == osp.abspath(
        config)]
    if checkpoint is None and not options and found:
        checkpoint, options = found[0][1:]  # trained weights or world CLIP
    elif checkpoint is None:
        stem = osp.splitext(osp.basename(config))[0]
        checkpoint = latest_checkpoint(osp.join(args.work_dirs, stem)) or ''
    session = DemoSession(device=args.device, demo_root=args.demo_root,
                          label_batch_size=args.label_batch_size)
    if not args.no_preload:
        try:
            session.load(config, checkpoint, options)
            print(f'Loaded {config}' + (f' with {checkpoint}' if checkpoint
                                        else ' (no checkpoint)'), flush=True)
        except Exception as e:  # still serve: the page can pick another one
            print(f'Could not load {config}: {e}', file=sys.stderr, flush=True)
    demo = build_web_demo(session, models, config=config,
                          checkpoint=checkpoint, options=options,
                          topk=args.topk,
                          threshold=args.threshold, tta=args.tta)
    demo.queue().launch(server_name=args.host, server_port=args.port,
                        share=False, show_error=False, quiet=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
