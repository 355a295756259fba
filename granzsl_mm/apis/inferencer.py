"""Open-vocabulary multi-label inference (MMPretrain inferencer style).

>>> from granzsl_mm.apis import MultiLabelInferencer
>>> inferencer = MultiLabelInferencer('configs/clip_zeroshot_coco.py',
...                                   vocabulary='coco80')
>>> inferencer(['a.jpg', 'photos/'], topk=5)[0]
{'img_path': 'a.jpg', 'labels': ['dog', ...], 'scores': [...],
 'sources': ['prompt', ...]}

Any ``ZeroShotMultiLabelClassifier`` is used as it is; a GranZSL model is
wrapped into one (``ZeroShotMultiLabelClassifier.from_granzsl``) that shares
its CLIP and uses its learned class names (``sources`` says ``'learned'``) for
its own classes and prompt templates for every other word (``'prompt'``).
"""
import logging
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from tqdm import tqdm

from granzsl_mm.structures.class_names import NAMED_SUBSETS
from granzsl_mm.structures.constants import DEFAULT_SNIPPET_GRIDS

from .image_inputs import IMAGE_EXTENSIONS, ImageInput, list_images, load_image
from .label_drawing import (
    DEFAULT_SHORT_SIDE,
    NoDisplayError,
    draw_label_panel,
    has_display,
    result_sections,
    save_picture,
)
from .score_ranking import (
    Thresholds,
    rank_by_source,
    rank_merged,
    source_thresholds,
    standouts,
)
from .vocabularies import read_vocabulary

__all__ = ['MultiLabelInferencer', 'NonFiniteScoresError', 'list_images',
           'IMAGE_EXTENSIONS']

_MODEL_SETS = NAMED_SUBSETS  # the model's own classes: 'all', 'seen', ...


class NonFiniteScoresError(ValueError):
    """The model scored images NaN or inf (non-finite weights somewhere)."""


def _refuse_non_finite(scores: torch.Tensor, words: Sequence[str]) -> None:
    """NaN / inf scores rank in no meaningful order: refuse them instead of
    returning tags (a checkpoint is checked when loaded; this also catches a
    CLIP weights or vocabulary file with non-finite values)."""
    bad = ~torch.isfinite(scores)
    if bool(bad.any()):
        cols = bad.any(dim=0).nonzero().flatten().tolist()
        shown = ', '.join(repr(words[i]) for i in cols[:3]) + (
            ', ...' if len(cols) > 3 else '')
        raise NonFiniteScoresError(
            f'the model scored {int(bad.any(dim=1).sum())} of '
            f'{scores.shape[0]} image(s) NaN or inf (words {shown}): its '
            'weights (checkpoint, CLIP weights or vocabulary file) hold '
            'non-finite values; use weights from a run that did not diverge.')


def _zero_shot_view(model: nn.Module,
                    class_names: Optional[Sequence[str]] = None) -> nn.Module:
    """The model itself if it is a zero-shot classifier, else its view."""
    from granzsl_mm.models.classifiers import ZeroShotMultiLabelClassifier
    if isinstance(model, ZeroShotMultiLabelClassifier):
        return model
    return ZeroShotMultiLabelClassifier.from_granzsl(model, class_names)


class MultiLabelInferencer(BaseInferencer):
    """Top-k labels of images for any vocabulary (an mmengine inferencer).

    The stages of mmengine's ``BaseInferencer``: :meth:`preprocess` (the
    image door, then the config's test pipeline, batched), :meth:`forward`
    (scores over the current vocabulary as data samples with ``pred_score``),
    :meth:`postprocess` (the rankings, plain dicts) and :meth:`visualize`
    (the picture of :mod:`~granzsl_mm.apis.label_drawing`, as
    ``tools/infer.py --show-dir`` writes it). ``__call__`` ranks before it
    draws, so the pictures show what the returned rankings hold.

    Args:
        model: Config path, ``Config`` or built model
            (``ZeroShotMultiLabelClassifier`` or GranZSL).
        pretrained: Checkpoint of our model to load, through the weights
            door (:func:`granzsl_mm.apis.weights.check_checkpoint_fits`);
            class names are read from its ``meta.dataset_meta`` when the
            model has none.
        vocabulary: Initial vocabulary (see :meth:`set_vocabulary`); default:
            the model's own classes.
        device: Torch device.
        tta: Snippet test-time aggregation (grids of the config's
            ``tta_model``, else ``structures.DEFAULT_SNIPPET_GRIDS``).
        score_act: ``'none'`` (raw ``cosine x scale``) or ``'sigmoid'``.
        calibration: A ``score_calibration.ScoreCalibration`` or its file:
            one merged ranking (else mixed sources rank apart).
        clip_weights: A local open_clip / OpenAI CLIP weights file for the
            config's CLIP (:func:`granzsl_mm.apis.weights.set_clip_weights`);
            only when the inferencer builds the model from a config.
        show_progress: Progress bar in ``__call__`` (default of its
            ``progress`` argument).

    Attributes:
        clip_weights_line (str | None): One line saying which CLIP weights
            the model runs on (``random CLIP tower ...`` for a random one,
            then also logged as a warning).
    """

    preprocess_kwargs: set = {'decode_workers'}
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'show_dir', 'wait_time', 'short_side'}
    postprocess_kwargs: set = {'topk', 'threshold'}

    def __init__(self, model: Union[str, Config, nn.Module],
                 pretrained: Optional[str] = None,
                 vocabulary: Union[str, Sequence[str], None] = None,
                 device: str = 'cpu', tta: bool = False,
                 score_act: str = 'none',
                 calibration: Union[str, Any, None] = None,
                 clip_weights: Optional[str] = None,
                 show_progress: bool = True) -> None:
        from .score_calibration import as_calibration, check_score_act
        self.score_act = check_score_act(score_act)
        self.calibration = as_calibration(calibration)
        from granzsl_mm.registry import import_registered_modules
        import_registered_modules()
        self._given = model if isinstance(model, nn.Module) else None
        if self._given is not None:
            if clip_weights:
                raise ValueError('clip_weights applies to a model the '
                                 'inferencer builds from a config; load the '
                                 'CLIP weights into a built model yourself')
            cfg = getattr(model, 'cfg', None)
        else:
            cfg = model if isinstance(model, Config) else Config.fromfile(
                model)
        self._clip_weights = clip_weights
        self.tta = tta
        super().__init__(model=cfg if cfg is not None else Config(),
                         weights=pretrained, device=device,
                         scope='granzsl_mm', show_progress=show_progress)
        self.cfg = cfg if self._given is not None else self.cfg
        self.device = device
        tta_cfg = (self.cfg.get('tta_model') if self.cfg else None) or {}
        self.grids = tuple(tta_cfg.get('grids', DEFAULT_SNIPPET_GRIDS))
        self.set_vocabulary('all' if vocabulary is None else vocabulary)

    # ------------------------------------------------- BaseInferencer set-up
    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        """The model (built through :func:`~granzsl_mm.apis.get_model`
        unless given), its checkpoint, and its zero-shot view."""
        if self._given is not None:
            net = self._given
        else:
            from .model_zoo import get_model
            net = get_model(cfg, clip_weights=self._clip_weights)
        meta_classes = self._load(net, weights) if weights else None
        self.source_model = net.to(device).eval()
        from granzsl_mm.models.backbones.tower_weights import (
            RANDOM_TOWER_NOTE,
            tower_weights_line,
        )
        self.clip_weights_line = tower_weights_line(net)
        if self.clip_weights_line and \
                RANDOM_TOWER_NOTE in self.clip_weights_line:
            logging.getLogger('granzsl_mm').warning(self.clip_weights_line)
        names = None
        if not getattr(net, 'class_names', None):
            names = meta_classes or _config_class_names(
                cfg if len(cfg) else None)
        return _zero_shot_view(net, names).to(device).eval()

    @staticmethod
    def _load(net: nn.Module, checkpoint: str) -> Optional[List[str]]:
        from mmengine.runner.checkpoint import _load_checkpoint_to_model

        from granzsl_mm.models.backbones.tower_weights import mark_checkpoint_towers

        from .weights import check_checkpoint_fits  # refuses a misfit
        state = check_checkpoint_fits(net, checkpoint)
        meta, _ = state.pop('__meta__', {}), state.pop('__format__', None)
        _load_checkpoint_to_model(net, state)
        mark_checkpoint_towers(net, state, checkpoint)
        classes = (meta.get('dataset_meta') or {}).get('classes')
        return list(classes) if classes else None

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The config's test pipeline less its loading step (the image door
        loads), else a resize to the CLIP's input size."""
        from granzsl_mm.registry import TRANSFORMS
        return Compose([TRANSFORMS.build(t) for t in self._pipeline_cfg(cfg)])

    def _init_collate(self, cfg: Config):
        return pseudo_collate

    def _init_visualizer(self, cfg: Config) -> None:
        """No mmengine visualizer: :meth:`visualize` draws with
        :mod:`~granzsl_mm.apis.label_drawing`, as ``--show-dir`` does."""
        return None

    def _pipeline_cfg(self, cfg: Optional[Config]) -> List[dict]:
        pipeline = None
        if cfg:
            loader = cfg.get('test_dataloader') or {}
            pipeline = cfg.get('test_pipeline') or (
                loader.get('dataset') or {}).get('pipeline')
        if pipeline:
            pipeline = [dict(t) for t in pipeline]
            if 'Load' in str(pipeline[0].get('type', '')):
                pipeline = pipeline[1:]
            return pipeline
        size = getattr(getattr(getattr(self.model.backbone, 'clip', None),
                               'visual', None), 'image_size', (224, 224))
        size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        return [dict(type='Resize', scale=size, backend='pillow',
                     interpolation='bicubic'),
                dict(type='PackInputs')]

    # ----------------------------------------------------------- vocabulary
    def set_vocabulary(self, vocabulary: Union[str, Sequence[str]]
                       ) -> List[str]:
        """Switch the vocabulary (no rebuilding).

        Args:
            vocabulary: The model's own ``'all'`` / ``'seen'`` / ``'unseen'``
                classes, a list of words, a text / JSON file, a vocabulary
                file of learned embeddings (``*.pt``: its embeddings are
                loaded too), a named set (``'coco80'``, ``'coco48_17'``,
                ``'nuswide81'``, ...) or a comma-separated string.

        Returns:
            list[str]: Per word, ``'learned'`` or ``'prompt'``.
        """
        if isinstance(vocabulary, str) and vocabulary in _MODEL_SETS:
            return self.model.set_vocabulary(vocabulary)
        if isinstance(vocabulary, str) and vocabulary.endswith(
                ('.pt', '.pth')) and osp.isfile(vocabulary):
            # Read once: its names come with its embeddings.
            words = list(dict.fromkeys(
                w for w in self.model.load_vocabulary(vocabulary) if w))
            if not words:
                raise ValueError(f'empty vocabulary: {vocabulary!r}')
            return self.model.set_vocabulary(words)
        return self.model.set_vocabulary(read_vocabulary(vocabulary))

    @property
    def vocabulary(self) -> List[str]:
        """Current words."""
        return list(self.model.vocabulary)

    @property
    def sources(self) -> List[str]:
        """Per current word, ``'learned'`` or ``'prompt'``."""
        return list(self.model.vocabulary_sources)

    # ------------------------------------------------------------ inference
    def _inputs_to_list(self, inputs: Union[ImageInput, Sequence[ImageInput]]
                        ) -> list:
        """Files, folders (sorted), glob patterns, arrays and PIL images."""
        return list_images(inputs)

    def preprocess(self, inputs: list, batch_size: int = 8,
                   decode_workers: int = 0, **kwargs):
        """Batches of pipeline outputs (each image read by the image door).

        Args:
            inputs (list): Items of :meth:`_inputs_to_list`.
            batch_size (int): Images per batch.
            decode_workers (int): Threads that decode and resize the next
                batch while the model scores this one (0: in turn, in this
                thread). Decoders and resizers release the GIL, so on a
                machine with a core to spare the decoding is hidden; the
                batches are the same either way.

        Yields:
            dict: ``inputs`` / ``data_samples`` of one batch (pseudo-collated).
        """
        def load(item):
            return self.pipeline(load_image(item))

        chunks = [inputs[a:a + batch_size]
                  for a in range(0, len(inputs), batch_size)]
        if decode_workers <= 0:
            for chunk in chunks:
                yield self.collate_fn([load(x) for x in chunk])
            return
        with ThreadPoolExecutor(decode_workers,
                                thread_name_prefix='decode') as pool:
            ahead = [pool.submit(load, x) for x in chunks[0]] if chunks \
                else []
            for i in range(len(chunks)):
                current = ahead  # one batch decoded ahead, no more
                ahead = [pool.submit(load, x) for x in chunks[i + 1]] \
                    if i + 1 < len(chunks) else []
                yield self.collate_fn([f.result() for f in current])

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """Scores of one batch over the current vocabulary.

        Args:
            inputs (dict): A batch of :meth:`preprocess`.

        Returns:
            list[DataSample]: Per image ``pred_score`` (``[V]``, float32 on
            the CPU; sigmoid or calibrated as the inferencer was set up) and
            ``img_path`` (None for arrays).
        """
        from mmpretrain.structures import DataSample
        batch = self.model.data_preprocessor(inputs, False)['inputs']
        if self.tta:
            scores = self.model.snippet_scores(batch, self.grids)
        else:
            scores = self.model(batch, mode='tensor')
        scores = scores.float().cpu()
        _refuse_non_finite(scores, self.vocabulary)
        if self.calibration is not None:
            scores = self.calibration.apply(scores, self.sources)
        elif self.score_act == 'sigmoid':
            scores = scores.sigmoid()
        samples = inputs.get('data_samples') or [None] * len(scores)
        return [DataSample(metainfo=dict(img_path=(
            sample.get('img_path') if sample is not None else None))
        ).set_pred_score(row) for sample, row in zip(samples, scores)]

    def postprocess(self, preds: list, visualization: Optional[list] = None,
                    return_datasamples: bool = False,
                    topk: Optional[int] = 5,
                    threshold: Thresholds = None) -> list:
        """Rankings of the predictions (plain dicts).

        Args:
            preds (list[DataSample]): Output of :meth:`forward`.
            visualization: Unused (``__call__`` draws after ranking).
            return_datasamples (bool): Return ``preds`` as they are.
            topk (int, optional): Keep the k best labels (None or <= 0: all).
            threshold: Keep labels scoring at least this: one value for
                every source or one per source
                (:data:`~granzsl_mm.apis.score_ranking.Thresholds`).

        Returns:
            list[dict]: Per image ``img_path``, ``by_source`` (per source its
            own ranking ``{'labels', 'scores'}``), ``thresholds`` (per source
            the threshold applied, None: none), ``standout`` (per source
            the score above which a label stands out on this image,
            :func:`~granzsl_mm.apis.score_ranking.standouts`) and
            ``merged``: True for
            one source or a calibration, then also the merged ``labels``,
            ``scores`` (descending) and ``sources``.
        """
        if return_datasamples:
            return preds
        words, sources = self.vocabulary, self.sources
        merged = len(set(sources)) <= 1 or self.calibration is not None
        results = []
        for pred in preds:
            row = pred.pred_score
            result = dict(img_path=pred.get('img_path'), merged=merged,
                          by_source=rank_by_source(row, words, sources, topk,
                                                   threshold),
                          thresholds=source_thresholds(row, sources,
                                                       threshold),
                          standout=standouts(row, sources))
            if merged:
                order = rank_merged(row, sources, topk, threshold)
                result.update(labels=[words[i] for i in order],
                              scores=[float(row[i]) for i in order],
                              sources=[sources[i] for i in order])
            results.append(result)
        return results

    def visualize(self, inputs: list, preds: list, show: bool = False,
                  show_dir: Optional[str] = None, wait_time: float = 0,
                  short_side: int = DEFAULT_SHORT_SIDE
                  ) -> Optional[List[np.ndarray]]:
        """Draw each image with its ranking beside it (``--show-dir``'s
        picture).

        Args:
            inputs (list): The items the results belong to.
            preds (list[dict]): Rankings of :meth:`postprocess`.
            show (bool): Show each picture in a window.
            show_dir (str, optional): Write ``<image name>.png`` here
                (``image_<index>.png`` for arrays).
            wait_time (float): Seconds a window stays open (0: until
                closed).
            short_side (int): Shorter side of the drawn image.

        Returns:
            list[np.ndarray] | None: The RGB pictures (None when neither
            ``show`` nor ``show_dir``).

        Raises:
            NoDisplayError: ``show`` on a machine without a display.
        """
        if not show and not show_dir:
            return None
        if show and not has_display():
            raise NoDisplayError('show=True needs a display (none here); '
                                 'write the pictures with show_dir instead')
        unseen = self._unseen_words()
        pictures = []
        for index, (item, result) in enumerate(zip(inputs, preds)):
            picture = draw_label_panel(
                load_image(item)['img'][..., ::-1],
                result_sections(result, unseen),
                title=item if isinstance(item, str) else f'image {index}',
                short_side=short_side)
            pictures.append(picture)
            if show_dir:
                name = (osp.splitext(osp.basename(item))[0]
                        if isinstance(item, str) else f'image_{index:05d}')
                save_picture(picture, osp.join(show_dir, name + '.png'))
            if show:
                _show(picture, wait_time)
        return pictures

    def _unseen_words(self) -> List[str]:
        """The model's unseen classes (tagged in the pictures)."""
        names = list(getattr(self.model, 'class_names', None) or [])
        seen = getattr(self.model, 'num_seen_classes', None)
        return names[seen:] if seen is not None else []

    def __call__(self, inputs: Union[ImageInput, Sequence[ImageInput]],
                 return_datasamples: bool = False, batch_size: int = 8,
                 progress: Optional[bool] = None, **kwargs) -> list:
        """Ranked labels per image: preprocess, forward, postprocess, then
        visualize the rankings.

        Args:
            inputs: Paths, folders, glob patterns, BGR arrays or PIL images.
            return_datasamples (bool): Return the data samples of
                :meth:`forward` (``pred_score``) instead of rankings.
            batch_size (int): Images per forward.
            progress (bool, optional): Progress bar (default:
                ``show_progress``).
            **kwargs: ``topk`` (default 5), ``threshold`` (postprocess);
                ``show_dir``, ``show``, ``wait_time``, ``short_side``
                (visualize).

        Returns:
            list: Per image the dict of :meth:`postprocess` (or a
            ``DataSample``).
        """
        pre, fwd, vis, post = self._dispatch_kwargs(**kwargs)
        items = self._inputs_to_list(inputs)
        preds = self._predict(items, batch_size,
                              self.show_progress if progress is None
                              else progress, pre, fwd)
        if return_datasamples:
            return preds
        results = self.postprocess(preds, None, False, **post)
        self.visualize(items, results, **vis)
        return results

    def _predict(self, items: list, batch_size: int, progress: bool,
                 pre: Optional[dict] = None, fwd: Optional[dict] = None
                 ) -> list:
        bar = tqdm(total=len(items), desc='scoring images', unit='image',
                   disable=not progress, dynamic_ncols=True)
        preds = []
        for data in self.preprocess(items, batch_size=batch_size,
                                    **(pre or {})):
            out = self.forward(data, **(fwd or {}))
            preds += out
            bar.update(len(out))
        bar.close()
        return preds

    def scores(self, images: Union[ImageInput, Sequence[ImageInput]],
               batch_size: int = 8, progress: bool = False) -> torch.Tensor:
        """``[N, V]`` scores of the images over the current vocabulary."""
        preds = self._predict(self._inputs_to_list(images), batch_size,
                              progress)
        return torch.stack([pred.pred_score for pred in preds])

    @torch.no_grad()
    def score_map(self, image: ImageInput, label: str) -> np.ndarray:
        """Local cosine map ``[h, w]`` of one image for one word.

        Args:
            image: A path, BGR array or PIL image.
            label: Any word (learned embedding when it has one).

        Returns:
            np.ndarray: Cosines between the patch features and the word.
        """
        inputs = self.model.data_preprocessor(
            next(self.preprocess([image], batch_size=1)), False)['inputs']
        embeds, _ = self.model.embed_words([label])
        local, _ = self.model.view_cosines(inputs, embeddings=embeds)
        if local is None:
            raise ValueError('this model has no dense features (backbone '
                             "dense_mode='plain' or 'clearclip')")
        return local[0, 0].float().cpu().numpy()


def _show(picture: np.ndarray, wait_time: float) -> None:
    """Show one picture in a window (mmengine's visualizer window)."""
    from mmengine.visualization import Visualizer
    Visualizer().show(picture, wait_time=wait_time)


def _config_class_names(cfg: Optional[Config]) -> Optional[List[str]]:
    """Class names from a JSON split file named by the config's datasets."""
    if cfg is None:
        return None
    from granzsl_mm.structures.class_names import read_class_names
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        split = dataset.get('split_file')
        if not isinstance(split, str) or not split.endswith('.json'):
            continue
        for path in (split, osp.join(dataset.get('data_root') or '', split)):
            if osp.isfile(path):
                return read_class_names(path)[0]
    return None

