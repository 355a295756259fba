"""Plot curves or time statistics of mmengine JSON logs (MMPretrain style).

Examples:
    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/x/*/vis_data/scalars.json --keys loss   # -> <log dir>/curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time scalars.json
"""
import _cli

import argparse
import os.path as osp
import sys

from granzsl_mm.utils.log_analysis import load_scalar_log, plot_curves, train_time_stats


def main() -> None:
    parser = argparse.ArgumentParser(description='Analyze JSON logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalars against steps')
    plot.add_argument('json_logs', nargs='+')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--legend', nargs='+')
    plot.add_argument('--title')
    plot.add_argument('--out', help='PNG path (default: curves.png beside '
                      'the first log, never the current directory)')
    timing = sub.add_parser('cal_train_time', help='iteration time stats')
    timing.add_argument('json_logs', nargs='+')
    args = parser.parse_args()
    if args.task == 'plot_curve' and args.legend and len(args.legend) != len(
            args.json_logs):
        parser.error(f'--legend names {len(args.legend)} curves for '
                     f'{len(args.json_logs)} logs: give one name per log')
    try:
        logs = [load_scalar_log(p) for p in args.json_logs]
    except (OSError, ValueError) as err:
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    if args.task == 'plot_curve':
        out_file = args.out or osp.join(
            osp.dirname(osp.abspath(args.json_logs[0])), 'curves.png')
        out = plot_curves(logs, args.keys, out_file, args.legend, args.title)
        print(f'saved {out}')
    else:
        for path, log in zip(args.json_logs, logs):
            stats = train_time_stats(log)
            print(f'{path}: {stats["mean"]:.4f} s/iter (std {stats["std"]:.4f},'
                  f' slowest {stats["max"]:.4f}, fastest {stats["min"]:.4f})')


if __name__ == '__main__':
    sys.exit(_cli.run(main))
