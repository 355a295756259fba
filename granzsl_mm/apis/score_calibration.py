"""Make scores of different sources comparable: Platt scaling per source.

Learned class names and prompt words score on different scales (a learned
name can sit at 11 while prompt words sit near -15 on the same image), and
raw ``cosine x logit scale`` values carry no threshold from one config to
another. Rankings are therefore kept per source by default; a merged ranking
needs a calibration fitted on a held-out split: per source, ``p = sigmoid(a
* score + b)`` fitted by maximum likelihood (Platt scaling), with its
expected calibration error (ECE) reported.

>>> cal = fit_score_calibration(val_scores, val_labels, sources)
>>> cal.ece            # {'learned': 0.03, 'prompt': 0.02, 'all': 0.025}
>>> cal.save('calibration.json')  # tools/infer.py --calibration FILE
"""
import json
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from granzsl_mm.utils.atomic_io import atomic_write_text

__all__ = ['ScoreCalibration', 'fit_platt', 'fit_score_calibration',
           'expected_calibration_error', 'as_calibration', 'check_score_act',
           'SCORE_ACTS']

SCORE_ACTS = ('none', 'sigmoid')


def check_score_act(score_act: str) -> str:
    """``score_act`` if it is one of :data:`SCORE_ACTS`, else ValueError."""
    if score_act not in SCORE_ACTS:
        raise ValueError(f'score_act must be one of {SCORE_ACTS}, got '
                         f'{score_act!r}')
    return score_act


def fit_platt(scores: Tensor, labels: Tensor, steps: int = 200
              ) -> Tuple[float, float]:
    """Fit ``p = sigmoid(a * score + b)`` to binary labels.

    Args:
        scores (Tensor): Scores, any shape.
        labels (Tensor): 1 positive, 0 negative (other values are ignored,
            e.g. -1 unknown), same shape.
        steps (int): L-BFGS iterations.

    Returns:
        tuple[float, float]: ``(a, b)``.
    """
    scores = scores.reshape(-1).double()
    labels = labels.reshape(-1).double()
    keep = (labels == 0) | (labels == 1)
    scores, labels = scores[keep], labels[keep]
    if scores.numel() == 0 or labels.min() == labels.max():
        raise ValueError('calibration needs positives and negatives')
    mean, std = scores.mean(), scores.std().clamp_min(1e-12)
    params = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], max_iter=steps,
                            line_search_fn='strong_wolfe')
    z = (scores - mean) / std

    def closure() -> Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            params[0] * z + params[1], labels)
        loss.backward()
        return loss

    opt.step(closure)
    a, b = params.detach()
    return float(a / std), float(b - a * mean / std)


def expected_calibration_error(probs: Tensor, labels: Tensor,
                               bins: int = 10) -> float:
    """ECE: mean over equal-width bins of ``|frequency - confidence|``,
    weighted by the bin's share of the predictions.

    Args:
        probs (Tensor): Probabilities in [0, 1].
        labels (Tensor): 1 / 0 (others ignored), same shape.
        bins (int): Number of bins.

    Returns:
        float: The ECE in [0, 1].
    """
    probs = probs.reshape(-1).double()
    labels = labels.reshape(-1).double()
    keep = (labels == 0) | (labels == 1)
    probs, labels = probs[keep], labels[keep]
    if probs.numel() == 0:
        raise ValueError('no labelled scores')
    index = (probs * bins).long().clamp(0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            gap = (labels[inside].mean() - probs[inside].mean()).abs()
            total += float(gap) * int(inside.sum()) / probs.numel()
    return total


@dataclass
class ScoreCalibration:
    """Per-source Platt parameters and their calibration errors.

    Attributes:
        params (dict): ``{source: (a, b)}``.
        ece (dict): ECE per source and ``'all'`` on the split it was
            measured on.
    """
    params: Dict[str, Tuple[float, float]]
    ece: Dict[str, float] = field(default_factory=dict)

    def apply(self, scores: Tensor, sources: Sequence[str]) -> Tensor:
        """Calibrated probabilities ``[N, V]`` of raw scores ``[N, V]``."""
        missing = sorted(set(sources) - set(self.params))
        if missing:
            raise ValueError(f'the calibration has no parameters for '
                             f'source(s) {missing}')
        a = torch.tensor([self.params[s][0] for s in sources],
                         dtype=scores.dtype)
        b = torch.tensor([self.params[s][1] for s in sources],
                         dtype=scores.dtype)
        return torch.sigmoid(scores * a + b)

    def save(self, path: str) -> str:
        """Write as JSON; returns ``path``."""
        atomic_write_text(json.dumps(dict(method='platt', params=self.params,
                                          ece=self.ece), indent=1), path)
        return path

    @classmethod
    def load(cls, path: str) -> 'ScoreCalibration':
        """Read a file written by :meth:`save`."""
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        if data.get('method') != 'platt' or 'params' not in data:
            raise ValueError(f'{path} is no score calibration file')
        return cls({k: tuple(v) for k, v in data['params'].items()},
                   dict(data.get('ece', {})))


def fit_score_calibration(scores: Tensor, labels: Tensor,
                          sources: Sequence[str],
                          check: Optional[Tuple[Tensor, Tensor]] = None,
                          bins: int = 10) -> ScoreCalibration:
    """Fit one Platt scaling per source on a held-out split.

    Args:
        scores (Tensor | np.ndarray): ``[N, V]`` raw scores of the held-out
            images.
        labels (Tensor | np.ndarray): ``[N, V]`` in {1, 0, -1}.
        sources (Sequence[str]): Per column, ``'learned'`` or ``'prompt'``.
        check (tuple, optional): ``(scores, labels)`` of another split to
            measure the ECE on (default: the fitting split); tensors or
            arrays.
        bins (int): ECE bins.

    Returns:
        ScoreCalibration: Parameters and ECE per source and overall.
    """
    scores, labels = torch.as_tensor(scores), torch.as_tensor(labels)
    if check is not None:
        check = (torch.as_tensor(check[0]), torch.as_tensor(check[1]))
    sources = list(sources)
    if scores.shape != labels.shape or scores.shape[-1] != len(sources):
        raise ValueError(f'scores {tuple(scores.shape)}, labels '
                         f'{tuple(labels.shape)} and {len(sources)} sources '
                         'disagree')
    params = {}
    for source in dict.fromkeys(sources):
        cols = [i for i, s in enumerate(sources) if s == source]
        params[source] = fit_platt(scores[:, cols], labels[:, cols])
    cal = ScoreCalibration(params)
    eval_scores, eval_labels = check if check is not None else (scores,
                                                                 labels)
    probs = cal.apply(eval_scores.double(), sources)
    for source in params:
        cols = [i for i, s in enumerate(sources) if s == source]
        cal.ece[source] = expected_calibration_error(
            probs[:, cols], eval_labels[:, cols], bins)
    cal.ece['all'] = expected_calibration_error(probs, eval_labels, bins)
    return cal


def as_calibration(calibration: Union[str, 'ScoreCalibration', None]
                   ) -> Optional['ScoreCalibration']:
    """A :class:`ScoreCalibration` from itself, its JSON file or None."""
    if isinstance(calibration, str):
        return ScoreCalibration.load(calibration)
    return calibration
