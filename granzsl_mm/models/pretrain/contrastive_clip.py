"""Contrastive (CLIP) pre-training of an open_clip model on image-caption pairs.

The model is a plain open_clip ``CLIP``; its loss is open_clip's symmetric
InfoNCE (``ClipLoss``) with the learned temperature, or (``loss='siglip'``)
SigLIP's pairwise sigmoid loss (open_clip's ``SigLipLoss``) with the learned
temperature and the model's learned ``logit_bias`` (the architecture must
have one: ``init_logit_bias`` in its config, as SigLIP's). After training,
:meth:`ContrastiveCLIP.save_open_clip` writes the bare open_clip state dict:
``OpenCLIPBackbone(arch=..., pretrained=<file>)`` and ``CLIPTextEncoder``
load it like any open_clip checkpoint.
"""
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModel
from open_clip.loss import ClipLoss, SigLipLoss

from granzsl_mm.registry import MODELS
from granzsl_mm.utils.atomic_io import atomic_open

from ..backbones.open_clip_builder import build_open_clip

__all__ = ['ContrastiveCLIP', 'save_open_clip_checkpoint', 'LOSSES']

# loss name -> the open_clip loss class (single process: rank 0 of 1)
LOSSES = {'clip': ClipLoss, 'siglip': SigLipLoss}


def save_open_clip_checkpoint(clip: torch.nn.Module, path: str) -> None:
    """Write an open_clip model's state dict atomically (temp file + rename).

    Args:
        clip (torch.nn.Module): The open_clip model.
        path (str): Output ``.pt`` file.
    """
    state = {k: v.detach().cpu().clone() for k, v in clip.state_dict().items()}
    # atomic, synced, mode 0o666 & ~umask (as a plain `open` gives)
    with atomic_open(path, suffix='.tmp') as f:
        torch.save(state, f)


@MODELS.register_module()
class ContrastiveCLIP(BaseModel):
    """An open_clip model trained with the CLIP contrastive loss.

    Args:
        arch (str): open_clip architecture name (e.g. ``'TinyCLIP-world'``).
        model_cfg (dict, optional): open_clip config for a custom one.
        pretrained (str): Starting weights (tag or file), ``'random'`` to
            pretrain from open_clip's random initialisation.
        caption_key (str): Data sample field holding the caption.
        loss (str): ``'clip'`` (symmetric InfoNCE) or ``'siglip'`` (the
            sigmoid loss with the model's learned ``logit_bias``).
        data_preprocessor (dict, optional): Image preprocessor (CLIP
            mean/std in the config).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 arch: str,
                 model_cfg: Optional[dict] = None,
                 pretrained: str = 'random',
                 caption_key: str = 'caption',
                 loss: str = 'clip',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor
                         or dict(type='ClsDataPreprocessor'),
                         init_cfg=init_cfg)
        self.clip, self.tokenizer = build_open_clip(
            arch, pretrained=pretrained, model_cfg=model_cfg)
        self.caption_key = caption_key
        if loss not in LOSSES:
            raise ValueError(f'loss must be one of {sorted(LOSSES)}, got '
                             f'{loss!r}')
        if loss == 'siglip' and getattr(self.clip, 'logit_bias',
                                        None) is None:
            raise ValueError(f"loss='siglip' needs a learned logit_bias: "
                             f'{arch!r} has none (set init_logit_bias in '
                             "its open_clip config, e.g. "
                             "'TinyCLIP-world-sigmoid')")
        self.loss_name = loss
        self.loss_fn = LOSSES[loss]()

    def init_weights(self) -> None:
        """open_clip initialises its own weights; nothing to do."""

    def _captions(self, data_samples: List) -> List[str]:
        if not data_samples:
            raise ValueError('ContrastiveCLIP needs data samples with captions')
        texts = [getattr(ds, self.caption_key, None) for ds in data_samples]
        if any(not isinstance(t, str) for t in texts):
            raise ValueError(f'every data sample needs a str '
                             f'{self.caption_key!r} field; pack it with '
                             f"PackInputs(algorithm_keys=['{self.caption_key}'])")
        return texts

    def encode(self, images: torch.Tensor, texts: List[str]):
        """Normalised image and text embeddings."""
        tokens = self.tokenizer(texts).to(images.device)
        img = self.clip.encode_image(images, normalize=True)
        txt = self.clip.encode_text(tokens, normalize=True)
        return img, txt

    def forward(self, inputs: torch.Tensor, data_samples=None,
                mode: str = 'tensor'):
        """``'loss'``: contrastive loss; ``'tensor'``: image embeddings;
        ``'predict'``: samples with ``pred_score`` = similarities to the
        batch's own captions (row ``i`` scores caption ``j``)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.clip.encode_image(inputs, normalize=True)
        if mode == 'predict':
            img, txt = self.encode(inputs, self._captions(data_samples))
            sims = img @ txt.t()
            for sample, row in zip(data_samples, sims):
                sample.set_pred_score(row)
            return data_samples
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: torch.Tensor,
             data_samples: List) -> Dict[str, torch.Tensor]:
        """Symmetric InfoNCE (``loss_clip``) or the sigmoid loss
        (``loss_siglip``, plus the ``logit_bias`` logged) of a batch of
        image-caption pairs."""
        img, txt = self.encode(inputs, self._captions(data_samples))
        scale = self.clip.logit_scale.exp()
        with torch.no_grad():
            acc = ((img @ txt.t()).argmax(1) == torch.arange(
                len(img), device=img.device)).float().mean()
        if self.loss_name == 'siglip':
            bias = self.clip.logit_bias
            return dict(loss_siglip=self.loss_fn(img, txt, scale, bias),
                        logit_scale=scale.detach(),
                        logit_bias=bias.detach().reshape(()), i2t_acc=acc)
        loss = self.loss_fn(img, txt, scale)
        return dict(loss_clip=loss, logit_scale=scale.detach(),
                    i2t_acc=acc)

    def save_open_clip(self, path: str) -> None:
        """Write the open_clip state dict (see module doc)."""
        save_open_clip_checkpoint(self.clip, path)
