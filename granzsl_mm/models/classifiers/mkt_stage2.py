"""MKT stage 2: prompt tuning with the stage-1 image encoder frozen.

The image encoder is the stage-1 model (load its checkpoint with
``load_from``; keys match :class:`MKT`), now entirely frozen. The label
embeddings come from the frozen CLIP text tower fed with learned context
tokens around each class name (:class:`PromptContextLearner`); the only loss
is the ranking loss on the seen classes (``loss = rank_loss`` in the
reference). Scores and predictions are those of stage 1.

Documented choice: the reference does not normalise the stage-2 text
features; ours are L2-normalised like the stage-1 label embeddings the image
encoder was trained against (the scores are normalised across classes
anyway, but relative label norms would otherwise change the ranking).
"""
from typing import Optional

import torch

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.prompts import MKT_TEMPLATE

from .mkt import MKT

__all__ = ['MKTPromptTuning']


@MODELS.register_module()
class MKTPromptTuning(MKT):
    """MKT stage 2 (learned context tokens, frozen image encoder).

    Args:
        prompt_template (str): Prompt whose non-name tokens are learned
            (the reference's "There is a {} in the scene").
        **kwargs: :class:`MKT` arguments; the backbone must be frozen
            (``frozen=True``, no ``trainable_blocks_from``) and there is no
            distillation.
    """

    def __init__(self, prompt_template: str = MKT_TEMPLATE,
                 **kwargs) -> None:
        backbone = dict(kwargs.get('backbone') or {})
        if backbone.get('trainable_blocks_from') is not None or not \
                backbone.get('frozen', True):
            raise ValueError('MKT stage 2 keeps the image encoder frozen: use '
                             'frozen=True without trainable_blocks_from')
        if kwargs.get('distill_loss') is not None:
            raise ValueError('MKT stage 2 has no distillation loss')
        super().__init__(**kwargs)
        self.prompt_learner = MODELS.build(dict(
            type='PromptContextLearner', text_encoder=self.text_encoder,
            class_names=self.class_names, template=prompt_template))
        self._eval_labels: Optional[torch.Tensor] = None

    def label_embeddings(self) -> torch.Tensor:
        """Embeddings of all classes through the learned prompt (cached
        outside training, recomputed while training)."""
        if self.training or torch.is_grad_enabled():
            self._eval_labels = None
            return self.prompt_learner(self.text_encoder).float()
        if self._eval_labels is None:
            self._eval_labels = self.prompt_learner(self.text_encoder).float()
        return self._eval_labels

    def train(self, mode: bool = True) -> 'MKTPromptTuning':
        """Switch mode; the image encoder stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        self._eval_labels = None
        return self

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """Ranking loss of the seen classes (prompts of seen classes only)."""
        with torch.no_grad():
            cls, patches, _ = self.extract_feat(inputs)
        labels = self.prompt_learner(
            self.text_encoder, range(self.num_seen_classes)).float()
        scores = self.head_scores(cls, patches, labels)
        targets = self.seen_targets(data_samples, scores.device)
        return dict(loss_rank=self.rank_loss(scores, targets))
