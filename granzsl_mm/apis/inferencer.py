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
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from tqdm import tqdm

from granzsl_mm.structures.class_names import NAMED_SUBSETS
from granzsl_mm.structures.constants import DEFAULT_SNIPPET_GRIDS

from .image_inputs import IMAGE_EXTENSIONS, ImageInput, list_images, load_image
from .label_drawing import draw_labels
from .score_ranking import lines_to_draw, rank_by_source, rank_columns
from .vocabularies import read_vocabulary

__all__ = ['MultiLabelInferencer', 'list_images',
           'IMAGE_EXTENSIONS']

_MODEL_SETS = NAMED_SUBSETS  # the model's own classes: 'all', 'seen', ...


def _zero_shot_view(model: nn.Module,
                    class_names: Optional[Sequence[str]] = None) -> nn.Module:
    """The model itself if it is a zero-shot classifier, else its view."""
    from granzsl_mm.models.classifiers import ZeroShotMultiLabelClassifier
    if isinstance(model, ZeroShotMultiLabelClassifier):
        return model
    return ZeroShotMultiLabelClassifier.from_granzsl(model, class_names)


class MultiLabelInferencer:
    """Top-k labels of images for any vocabulary.

    Args:
        model: Config path, ``Config`` or built model
            (``ZeroShotMultiLabelClassifier`` or GranZSL).
        pretrained: Checkpoint to load (class names are read from its
            ``meta.dataset_meta`` when the model has none).
        vocabulary: Initial vocabulary (see :meth:`set_vocabulary`); default:
            the model's own classes.
        device: Torch device.
        tta: Snippet test-time aggregation (grids of the config's
            ``tta_model``, else ``structures.DEFAULT_SNIPPET_GRIDS``).
        score_act: ``'none'`` (raw ``cosine x scale``) or ``'sigmoid'``.
        calibration: A ``score_calibration.ScoreCalibration`` or its file:
            one merged ranking (else mixed sources rank apart).
    """

    def __init__(self, model: Union[str, Config, nn.Module],
                 pretrained: Optional[str] = None,
                 vocabulary: Union[str, Sequence[str], None] = None,
                 device: str = 'cpu', tta: bool = False,
                 score_act: str = 'none',
                 calibration: Union[str, Any, None] = None) -> None:
        from .score_calibration import as_calibration, check_score_act
        self.score_act = check_score_act(score_act)
        self.calibration = as_calibration(calibration)
        from granzsl_mm import register_all_modules
        register_all_modules(init_default_scope=False)
        meta_classes = None
        if isinstance(model, nn.Module):
            net, self.cfg = model, getattr(model, 'cfg', None)
            if pretrained:
                meta_classes = self._load(net, pretrained)
        else:
            from .model_zoo import get_model
            self.cfg = model if isinstance(model, Config) else \
                Config.fromfile(model)
            net = get_model(self.cfg)
            if pretrained:
                meta_classes = self._load(net, pretrained)
        self.source_model = net.to(device).eval()
        names = None
        if not getattr(net, 'class_names', None):
            names = meta_classes or _config_class_names(self.cfg)
        self.model = _zero_shot_view(net, names).to(device).eval()
        self.device = device
        self.tta = tta
        tta_cfg = (self.cfg.get('tta_model') if self.cfg else None) or {}
        self.grids = tuple(tta_cfg.get('grids', DEFAULT_SNIPPET_GRIDS))
        from granzsl_mm.registry import TRANSFORMS
        self.pipeline = Compose([TRANSFORMS.build(t)
                                 for t in self._pipeline_cfg()])
        self.set_vocabulary('all' if vocabulary is None else vocabulary)

    @staticmethod
    def _load(net: nn.Module, checkpoint: str) -> Optional[List[str]]:
        from mmengine.runner.checkpoint import _load_checkpoint_to_model

        from .weights import check_checkpoint_fits  # refuses a misfit
        state = check_checkpoint_fits(net, checkpoint)
        meta, _ = state.pop('__meta__', {}), state.pop('__format__', None)
        _load_checkpoint_to_model(net, state)
        classes = (meta.get('dataset_meta') or {}).get('classes')
        return list(classes) if classes else None

    def _pipeline_cfg(self) -> List[dict]:
        pipeline = None
        if self.cfg is not None:
            loader = self.cfg.get('test_dataloader') or {}
            pipeline = self.cfg.get('test_pipeline') or (
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
    def _batches(self, items: list, batch_size: int):
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            data = pseudo_collate([self.pipeline(load_image(x))
                                   for x in chunk])
            yield chunk, self.model.data_preprocessor(data, False)['inputs']

    @torch.no_grad()
    def scores(self, images: Union[ImageInput, Sequence[ImageInput]],
               batch_size: int = 8, progress: bool = False) -> torch.Tensor:
        """``[N, V]`` scores of the images over the current vocabulary."""
        items = list_images(images)
        bar = tqdm(total=len(items), desc='scoring images', unit='image',
                   disable=not progress, dynamic_ncols=True)
        out = []
        for chunk, inputs in self._batches(items, batch_size):
            if self.tta:
                out.append(self.model.snippet_scores(inputs, self.grids))
            else:
                out.append(self.model(inputs, mode='tensor'))
            bar.update(len(chunk))
        bar.close()
        scores = torch.cat(out).float().cpu()
        if self.calibration is not None:
            return self.calibration.apply(scores, self.sources)
        return scores.sigmoid() if self.score_act == 'sigmoid' else scores

    def __call__(self, images: Union[ImageInput, Sequence[ImageInput]],
                 topk: Optional[int] = 5, threshold: Optional[float] = None,
                 batch_size: int = 8, show_dir: Optional[str] = None,
                 progress: bool = True) -> List[Dict[str, Any]]:
        """Ranked labels per image.

        Args:
            images: Paths, folders, glob patterns, BGR arrays or PIL images.
            topk: Keep the k best labels (None or <= 0: all).
            threshold: Keep only labels scoring at least this.
            batch_size: Images per forward.
            show_dir: Write one picture per image with its labels drawn.
            progress: Show a progress bar.

        Returns:
            list[dict]: Per image ``img_path`` (None for arrays),
            ``by_source`` (per source its own ranking ``{'labels',
            'scores'}``, topk / threshold each) and ``merged``: True for
            one source or a calibration, then also the merged ``labels``,
            ``scores`` (descending) and ``sources``.
        """
        items = list_images(images)
        all_scores = self.scores(items, batch_size, progress)
        words, sources = self.vocabulary, self.sources
        merged = len(set(sources)) <= 1 or self.calibration is not None
        results = []
        for index, (item, row) in enumerate(zip(items, all_scores)):
            result = dict(img_path=item if isinstance(item, str) else None,
                          merged=merged, by_source=rank_by_source(
                              row, words, sources, topk, threshold))
            if merged:
                order = rank_columns(row, range(len(words)), topk, threshold)
                result.update(labels=[words[i] for i in order],
                              scores=[float(row[i]) for i in order],
                              sources=[sources[i] for i in order])
            results.append(result)
            if show_dir:
                name = (osp.splitext(osp.basename(item))[0]
                        if isinstance(item, str) else f'image_{index:05d}')
                draw_labels(load_image(item)['img'][..., ::-1],
                            lines_to_draw(results[-1]),
                            osp.join(show_dir, name + '.png'))
        return results

    @torch.no_grad()
    def score_map(self, image: ImageInput, label: str) -> np.ndarray:
        """Local cosine map ``[h, w]`` of one image for one word.

        Args:
            image: A path, BGR array or PIL image.
            label: Any word (learned embedding when it has one).

        Returns:
            np.ndarray: Cosines between the patch features and the word.
        """
        _, inputs = next(self._batches([image], 1))
        embeds, _ = self.model.embed_words([label])
        local, _ = self.model.view_cosines(inputs, embeddings=embeds)
        if local is None:
            raise ValueError('this model has no dense features (backbone '
                             "dense_mode='plain' or 'clearclip')")
        return local[0, 0].float().cpu().numpy()


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

