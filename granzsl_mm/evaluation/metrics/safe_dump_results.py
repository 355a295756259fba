"""Prediction dumps of ``tools/test.py --out`` that a safe reader takes."""
from typing import Any, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from granzsl_mm.registry import METRICS

from ..prediction_dump import DUMP_SUFFIXES, save_predictions, to_plain_data

__all__ = ['SafeDumpResults']


@METRICS.register_module()
class SafeDumpResults(BaseMetric):
    """mmengine's ``DumpResults`` without the pickle of torch objects.

    The per-image prediction dicts are written by
    :func:`granzsl_mm.evaluation.prediction_dump.save_predictions`: ``.pth``
    / ``.pt`` (tensors, ``torch.load(weights_only=True)`` reads them),
    ``.npz`` (the score arrays) or ``.pkl`` / ``.pickle`` (plain data, NumPy
    arrays), so ``tools/analysis_tools/eval_scores.py`` and
    :func:`~granzsl_mm.evaluation.prediction_dump.load_predictions` read
    every dump without unpickling code. ``tools/test.py --out`` adds it::

        test_evaluator = [..., dict(type='granzsl_mm.SafeDumpResults',
                                    out_file_path='preds.pth')]

    Args:
        out_file_path (str): The dump (``.pth`` (default
            ``predictions.pth``), ``.pt``, ``.npz``,
            ``.pkl`` or ``.pickle``).
        collect_device (str): ``'cpu'`` or ``'gpu'`` (gathering results
            from ranks).
        collect_dir (str, optional): Folder for gathering on CPU.

    Raises:
        ValueError: Another suffix.
    """

    def __init__(self, out_file_path: str = 'predictions.pth',
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device,
                         collect_dir=collect_dir)
        if not str(out_file_path).endswith(DUMP_SUFFIXES):
            raise ValueError(f'{out_file_path}: a prediction dump ends with '
                             f'one of {DUMP_SUFFIXES}')
        self.out_file_path = str(out_file_path)

    def process(self, data_batch: Any, predictions: Sequence[dict]) -> None:
        """Keep each prediction as plain CPU data."""
        self.results.extend(to_plain_data(dict(p)) for p in predictions)

    def compute_metrics(self, results: list) -> dict:
        """Write the dump (main process); no metric."""
        save_predictions(results, self.out_file_path)
        print_log(f'Results have been saved to {self.out_file_path}.',
                  logger='current')
        return {}
