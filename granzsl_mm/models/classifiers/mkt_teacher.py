"""MKT's distillation teacher: frozen copies of the trainable tail.

MKT distils the student's CLS embedding towards the frozen CLIP image
embedding of the same image (L1, weight 1, as ``loss = dist_loss +
rank_loss`` in the reference). The teacher shares the student's frozen
trunk: blocks below the first trainable one are identical in both (frozen,
no dropout in CLIP), so the teacher only re-runs its own frozen copies of the
trainable tail (blocks, ``ln_post``, ``proj``) on the trunk output; the
result equals a full frozen-CLIP forward.
"""
import copy

import torch
import torch.nn as nn

__all__ = ['FrozenTailTeacher']


class FrozenTailTeacher(nn.Module):
    """Frozen copies of an open_clip ViT's blocks ``[start, end)``, ``ln_post``
    and ``proj``, taken before training changes them.

    State-dict keys: ``blocks.<i>.*``, ``ln_post.*``, ``proj``.

    Args:
        visual (nn.Module): open_clip ``VisionTransformer`` (the student's).
        start (int): First block of the trainable tail.
    """

    def __init__(self, visual: nn.Module, start: int) -> None:
        super().__init__()
        self.blocks = copy.deepcopy(visual.transformer.resblocks[start:])
        self.ln_post = copy.deepcopy(visual.ln_post)
        self.proj = nn.Parameter(visual.proj.detach().clone())
        self.requires_grad_(False)

    @torch.no_grad()
    def forward(self, trunk: torch.Tensor) -> torch.Tensor:
        """Teacher CLS embedding from the shared trunk output.

        Args:
            trunk (torch.Tensor): ``[B, N, W]`` tokens after the frozen
                blocks (detached here).

        Returns:
            torch.Tensor: ``[B, D]`` float32 CLS embedding.
        """
        y = trunk.detach()
        for block in self.blocks:
            y = block(y)
        return (self.ln_post(y[:, 0]) @ self.proj).float()
