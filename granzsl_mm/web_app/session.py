"""The web app's actions, independent of the UI toolkit.

A :class:`AppSession` loads models (config + checkpoint, checked against
each other), scores uploaded images against a vocabulary in label batches
with progress, and draws score maps. Its ``run_*`` methods never raise for a
user's mistake: they return a :class:`AppOutcome` whose ``status`` says
what went wrong; unexpected failures are logged with their traceback on the
server and summarised in one line on the page.
"""
import logging
import os.path as osp
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .charts import overlay_score_map, ranking_html
from .inputs import (
    LABEL_BATCH_SIZE,
    MAX_LABELS,
    AppInputError,
    label_batches,
    parse_vocabulary,
    read_images,
)

__all__ = ['AppSession', 'AppOutcome', 'check_checkpoint',
           'check_thresholds']

logger = logging.getLogger('granzsl_mm.web_app')
Progress = Callable[[float, str], None]


@dataclass
class AppOutcome:
    """What one page action produced.

    Attributes:
        status (str): Markdown message (empty when all went well quietly).
        ok (bool): Whether the action succeeded.
        html (str): Ranked-label charts.
        results (list[dict]): Per image ``name``, ``path``, ``labels``,
            ``scores``, ``sources``.
        overlay (np.ndarray, optional): Score-map overlay (RGB).
        score_map (np.ndarray, optional): The ``[h, w]`` map drawn.
    """
    status: str = ''
    ok: bool = True
    html: str = ''
    results: List[Dict] = field(default_factory=list)
    overlay: Optional[np.ndarray] = None
    score_map: Optional[np.ndarray] = None


def check_checkpoint(model: torch.nn.Module, checkpoint: str,
                     config: str = 'the config') -> None:
    """Raise a readable error when a checkpoint does not fit a model.

    Checked: tensors of the checkpoint the model does not have, tensors the
    model saves that the checkpoint lacks (frozen weights a model does not
    save, e.g. GranZSL's CLIP, may be absent), and shape differences.

    Args:
        model (torch.nn.Module): The model built from the config.
        checkpoint (str): Checkpoint path.
        config (str): Config name for the message.

    Raises:
        AppInputError: Missing file, unreadable or mismatching checkpoint.
    """
    from granzsl_mm.apis.weights import (
        CLIP_OPTIONS,
        CheckpointMismatchError,
        check_checkpoint_fits,
    )
    if not osp.isfile(checkpoint):
        raise AppInputError(f'Checkpoint not found: {checkpoint}')
    try:
        check_checkpoint_fits(model, checkpoint, option='the checkpoint field',
                              clip_option=CLIP_OPTIONS['web_app'] + ' (at '
                              'start-up)')
    except CheckpointMismatchError as e:
        raise AppInputError(f'{e} (config: {config})') from e
    except Exception as e:
        raise AppInputError(f'Cannot read the checkpoint {checkpoint} '
                             f'({type(e).__name__}: {e}).') from e


def check_thresholds(thresholds: Optional[Dict[str, object]]
                     ) -> Dict[str, Union[None, float, str]]:
    """The page's per-source thresholds: known sources, finite numbers.

    Args:
        thresholds (dict, optional): Per source (``'learned'``,
            ``'prompt'``) a number, ``'auto'`` or empty (the labels that
            stand out), or ``'none'`` (nothing highlighted), as typed.

    Returns:
        dict: Per source named a finite float, ``'auto'`` or ``None``.

    Raises:
        AppInputError: An unknown source or a value that is none of these
            (``nan`` and ``inf`` included).
    """
    import math

    from granzsl_mm.apis.score_ranking import AUTO_THRESHOLD, parse_threshold
    checked: Dict[str, Union[None, float, str]] = {}
    for source, value in (thresholds or {}).items():
        if source not in ('learned', 'prompt'):
            raise AppInputError(f'Unknown score source {source!r} for a '
                                "threshold; use 'learned' or 'prompt'.")
        if value is None or not str(value).strip():
            checked[source] = AUTO_THRESHOLD
            continue
        try:
            parsed = None if isinstance(value, bool) else \
                parse_threshold(str(value))
        except ValueError:
            parsed = math.nan
        if isinstance(value, bool) or (isinstance(parsed, float) and
                                       not math.isfinite(parsed)):
            raise AppInputError(
                f'The {source} threshold must be a finite number, auto (or '
                f'empty: the labels that stand out) or none; got {value!r}.')
        checked[source] = parsed
    return checked


class AppSession:
    """Models and actions of the web app.

    Configs, checkpoints and config options named by a request go through
    ``access`` (:class:`granzsl_mm.web_app.access.AppAccess`): only files under
    the operator's folders, only allow-listed overrides. ``cfg_options`` and
    ``clip_weights`` are the operator's (command line) and apply to every
    model loaded.

    Args:
        device (str): Torch device of the models.
        demo_root (str): Folder of the proving-ground world.
        label_batch_size (int): Labels scored per pass (progress steps).
        max_models (int): Loaded models kept in memory.
        access (AppAccess, optional): What requests may reach (default:
            ``configs/`` and ``work_dirs/`` of the current directory).
        cfg_options (dict, optional): The operator's config overrides.
        clip_weights (str, optional): A local CLIP weights file, set as
            ``model.backbone.pretrained`` of every model (its folder joins
            the allowed ones).
    """

    def __init__(self, device: str = 'cpu', demo_root: str = 'data/demo',
                 label_batch_size: int = LABEL_BATCH_SIZE,
                 max_models: int = 2, access=None,
                 cfg_options: Optional[Dict[str, object]] = None,
                 clip_weights: Optional[str] = None) -> None:
        from .access import AppAccess
        self.access = access if access is not None else AppAccess()
        self.cfg_options = dict(cfg_options or {})
        self.clip_weights = clip_weights
        if clip_weights:  # set per model by set_clip_weights (see load)
            self.access.allow(osp.dirname(osp.abspath(clip_weights)),
                              reason=f'--clip-weights {clip_weights}')
        self.device = device
        self.demo_root = demo_root
        self.label_batch_size = label_batch_size
        self.max_models = max_models
        self._models: OrderedDict[Tuple[str, str, str], object] = \
            OrderedDict()
        # gradio serves events from a thread pool; one model is one state
        # (vocabulary, tta), so actions run one at a time.
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- models
    def load(self, config: str, checkpoint: str = '', options: str = ''):
        """The inferencer of a config (+ checkpoint), cached.

        Args:
            config (str): Config path.
            checkpoint (str): Checkpoint path ('' for the config's weights).
            options (str): ``key=value`` config overrides
                (:func:`parse_cfg_options`).

        Returns:
            MultiLabelInferencer: The model, ready to score.

        Raises:
            AppInputError: A config / checkpoint outside the allowed
                folders or missing, an override not on the allow-list, a
                config that does not build, or a checkpoint that does not
                fit it.
        """
        config, checkpoint = (config or '').strip(), (checkpoint or '').strip()
        if not config:
            raise AppInputError('No config: give the config file of a model.')
        shown = config
        config = self.access.config(config)  # refuses before any parsing
        checkpoint = self.access.checkpoint(checkpoint) if checkpoint else ''
        page_options = self.access.options(options)
        key = (config, checkpoint, repr(sorted(page_options.items())))
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        cfg_options = dict(self.cfg_options, **page_options)
        from mmengine.config import Config

        from granzsl_mm.apis import MultiLabelInferencer, get_model
        from granzsl_mm.apis.weights import (
            CLIP_OPTIONS,
            set_clip_weights,
            weights_option,
        )
        try:
            cfg = Config.fromfile(config)
            cfg.merge_from_dict(cfg_options)
            if self.clip_weights:
                set_clip_weights(cfg, self.clip_weights,
                                 option='--clip-weights')
            with weights_option(CLIP_OPTIONS['web_app']):
                model = get_model(cfg)
        except Exception as e:
            logger.exception('building %s failed', config)
            raise AppInputError(
                f'Cannot build the model of {shown}: {type(e).__name__}: '
                f'{_first_line(e)}') from e
        if checkpoint:
            check_checkpoint(model, checkpoint, osp.basename(config))
        try:
            inferencer = MultiLabelInferencer(
                model, pretrained=checkpoint or None, device=self.device)
        except (TypeError, ValueError) as e:
            raise AppInputError(
                f'The model of {config} cannot score free vocabularies: '
                f'{_first_line(e)}') from e
        self._models[key] = inferencer
        while len(self._models) > self.max_models:
            self._models.popitem(last=False)
        return inferencer

    # ------------------------------------------------------------ prediction
    def predict(self, inferencer, images: Sequence[Tuple[str, str]],
                labels: Sequence[str], tta: bool = False,
                topk: Optional[int] = None,
                progress: Optional[Progress] = None) -> List[Dict]:
        """Rank a vocabulary for each image, in label batches.

        Scores of a label do not depend on the other labels (cosine scores),
        so batching the vocabulary changes nothing but memory and progress.

        Args:
            inferencer: A ``MultiLabelInferencer``.
            images: ``(name, path)`` pairs (see :func:`read_images`).
            labels: The vocabulary.
            tta (bool): Snippet aggregation.
            topk (int, optional): Labels kept per image (all when None).
            progress (callable, optional): ``progress(fraction, text)``.

        Returns:
            list[dict]: Per image ``name``, ``path``, ``labels``, ``scores``
            (descending), ``sources`` (one ranking over all words) and
            ``by_source``: per source its own ranking (topk each), which is
            what the page shows (learned names and prompt words score on
            different scales), and ``auto_thresholds``: per source its
            default highlight over the whole vocabulary
            (:func:`granzsl_mm.apis.score_ranking.standouts`).
        """
        batches = label_batches(labels, self.label_batch_size)
        paths = [path for _, path in images]
        inferencer.tta = bool(tta)
        scores, sources = [], []
        for step, batch in enumerate(batches):
            if progress is not None:
                progress(step / len(batches),
                         f'Scoring labels {step * self.label_batch_size + 1}'
                         f'-{step * self.label_batch_size + len(batch)} of '
                         f'{len(labels)}')
            inferencer.set_vocabulary(list(batch))
            scores.append(inferencer.scores(paths))
            sources += inferencer.sources
        if progress is not None:
            progress(1.0, f'Scored {len(labels)} labels')
        table = torch.cat(scores, dim=1)
        from granzsl_mm.apis.score_ranking import rank_by_source, standouts
        results = []
        for (name, path), row in zip(images, table):
            order = torch.sort(row, descending=True, stable=True).indices
            order = order[:topk].tolist() if topk else order.tolist()
            results.append(dict(name=name, path=path,
                                labels=[labels[i] for i in order],
                                scores=[float(row[i]) for i in order],
                                sources=[sources[i] for i in order],
                                by_source=rank_by_source(row, labels, sources,
                                                         topk),
                                auto_thresholds=standouts(row, sources)))
        return results

    def run_ranking(self, files: Optional[Sequence[str]], vocabulary: str,
                    config: str, checkpoint: str = '', options: str = '',
                    tta: bool = False,
                    topk: Optional[int] = 10,
                    thresholds: Optional[Dict[str, object]] = None,
                    progress: Optional[Progress] = None) -> AppOutcome:
        """The "Run" button: read inputs, load the model, rank, render.

        ``thresholds`` holds per source (``'learned'``, ``'prompt'``) the
        user's highlight threshold (:func:`check_thresholds`); a source
        without one highlights its stand-outs (see :meth:`predict`).
        Everything a request carries (options, thresholds, ``topk``) is
        checked before a model is loaded.
        """
        try:
            thresholds = check_thresholds(thresholds)
            topk = _check_topk(topk)
            labels = parse_vocabulary(vocabulary)
            images = read_images(list(files or []))
            with self._lock:
                inferencer = self.load(config, checkpoint, options)
                results = self.predict(inferencer, images, labels,
                                       tta=bool(tta), topk=topk,
                                       progress=progress)
        except AppInputError as e:
            return AppOutcome(status=f'**{e}**', ok=False)
        except Exception as e:  # a bug, not the user's fault: log it
            logger.exception('ranking failed')
            return AppOutcome(status=f'**Scoring failed: {type(e).__name__}: '
                               f'{_first_line(e)}** (details in the server '
                               'log)', ok=False)
        batches = len(label_batches(labels, self.label_batch_size))
        status = (f'{len(images)} image(s), {len(labels)} labels'
                  + (f' (scored in {batches} batches of '
                     f'{self.label_batch_size})' if batches > 1 else '')
                  + (', snippet aggregation on' if tta else '') + '.')
        return AppOutcome(status=status, html=ranking_html(results, thresholds),
                           results=results)

    def run_score_map(self, path: Optional[str], label: Optional[str],
                      config: str, checkpoint: str = '',
                      options: str = '') -> AppOutcome:
        """Overlay the local score map of ``label`` on an image."""
        if not path or not label:
            return AppOutcome(status='Run the ranking, then pick an image '
                               'and a label.', ok=False)
        try:
            with self._lock:
                inferencer = self.load(config, checkpoint, options)
                score_map = inferencer.score_map(path, label)
        except AppInputError as e:
            return AppOutcome(status=f'**{e}**', ok=False)
        except ValueError as e:  # e.g. a model without dense features
            return AppOutcome(status=f'**No score map: {_first_line(e)}**',
                               ok=False)
        except Exception as e:
            logger.exception('score map failed')
            return AppOutcome(status=f'**Score map failed: {type(e).__name__}'
                               f': {_first_line(e)}**', ok=False)
        from PIL import Image
        with Image.open(path) as img:
            rgb = np.asarray(img.convert('RGB'))
        overlay, (low, high) = overlay_score_map(rgb, np.asarray(score_map))
        return AppOutcome(status=f'Local cosine map of **{label}** '
                           f'({score_map.shape[0]}x{score_map.shape[1]}): '
                           f'min {low:.3f}, max {high:.3f}.', overlay=overlay,
                           score_map=np.asarray(score_map))


def _check_topk(topk) -> Optional[int]:
    """``topk`` of a request: None / 0 (all) or a whole number >= 1."""
    import math
    if topk is None or (not isinstance(topk, bool) and topk == 0):
        return None
    if isinstance(topk, bool) or not isinstance(topk, (int, float)) or \
            not math.isfinite(topk) or topk < 1 or topk != int(topk):
        raise AppInputError(f'Labels shown per image must be a whole number '
                            f'from 1 to {MAX_LABELS}; got {topk!r}.')
    return min(int(topk), MAX_LABELS)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else ''
