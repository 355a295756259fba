"""Pre-training of CLIP models (contrastive image-caption learning)."""
from .contrastive_clip import ContrastiveCLIP, save_open_clip_checkpoint

__all__ = ['ContrastiveCLIP', 'save_open_clip_checkpoint']
