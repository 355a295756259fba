"""SigRL (ICME 2025): semantic-guided representation learning for
open-vocabulary multi-label recognition.

SigRL is MKT stage 1 (:class:`MKT`: CLIP ViT with the last blocks trainable,
frozen CLIP label embeddings of "There is a {} in the scene", global score of
the CLS embedding, ranking + L1 distillation losses, ZSL / GZSL scores each
normalised over its own label set) whose local score comes from
:class:`~granzsl_mm.models.heads.SigRLHead`: the graph-based multi-label
correlation module (GMC, a two-layer GATv2 over the label embeddings of the
scored set), semantic decoupling of the patch tokens per label, the bridging
of visual and label features, and the semantic visual feature reconstruction
(SVFR) whose reconstructed tokens are scored like MKT's patches. The graph is
built over the labels being scored: the seen labels in training, all labels
for GZSL, the unseen ones for ZSL (as the reference's test loop calls the
model with each label set).

The same model serves SigRL's single-positive (SPML) branch through
:class:`MKT`'s SPML mode (``spml_loss``, ``score_scale``): all classes seen,
the graph over all of them, the SPML loss on ``sigmoid(s * score)`` with the
samples' ``soft_targets``, and ``pred_score`` over all classes.
"""
from typing import Optional

from granzsl_mm.registry import MODELS

from .mkt import MKT

__all__ = ['SigRL']


@MODELS.register_module()
class SigRL(MKT):
    """SigRL: MKT with the GMC / decoupling / SVFR local head.

    Args:
        head (dict, optional): ``SigRLHead`` config; ``dim`` defaults to the
            backbone's embedding width and ``topk`` to this model's.
        **kwargs: :class:`MKT` arguments (``backbone``, ``num_classes``,
            ``num_seen_classes``, ``class_names``, ``topk``, losses,
            ``spml_loss`` / ``score_scale`` for SPML mode, ...).
    """

    def __init__(self, head: Optional[dict] = None, **kwargs) -> None:
        if kwargs.get('local_head') is not None:
            raise ValueError('SigRL builds its own local head; pass `head`')
        super().__init__(**kwargs)
        head = dict(head or dict(type='SigRLHead'))
        head.setdefault('type', 'SigRLHead')
        head.setdefault('dim', self.backbone.embed_dim)
        head.setdefault('topk', self.topk)
        self.local_head = MODELS.build(head)

    @property
    def gmc(self):
        """The graph-based multi-label correlation module (GATv2)."""
        return self.local_head.gmc

    @property
    def svfr(self):
        """The semantic visual feature reconstruction module."""
        return self.local_head.svfr
