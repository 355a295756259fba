"""Convert released MKT (and SigRL) checkpoints into our layout.

Stage 1 (``CLIPVIT``, saved as ``torch.save(model.state_dict())``, keys
behind ``module.`` under DataParallel): the CLIP image tower's own names
(``conv1``, ``class_embedding``, ``positional_embedding``, ``ln_pre``,
``transformer.resblocks.*``, ``ln_post``) and ``projection_dist`` (CLIP's
``visual.proj``) become ``backbone.clip.visual.*`` of :class:`MKT`; the
unused ``projection.*`` MLP is dropped. SigRL's modules map to
``local_head.*`` of :class:`SigRL` (``GATv2_1.layer1`` / ``GATv2_1.output``
-> ``gmc.layer1`` / ``gmc.layer2``, ``SemanticDecoupling.fc3`` ->
``decoupling.fc``, ``DecouplingSemantic.fc1`` / ``.fc3`` -> ``svfr.fc1`` /
``svfr.fc``; the shared ``linear_r`` copy is checked and dropped).

Stage 2 (MKT's ``PromptLearner``: a whole CLIP text tower whose
``token_embedding`` rows were trained): the rows of the prompt's context
tokens (start, "there", "is", "a", "in", "the", "scene", end) become
``prompt_learner.context`` of :class:`MKTPromptTuning`, in increasing token
id order; the rest is CLIP's frozen text tower (rebuilt from ``pretrained``).
Give the stage-1 checkpoint with it (``--stage2``).

Command line (``tools/model_converters/``)::

    python tools/model_converters/mkt_to_ours.py STAGE1.pth OUT.pth
    python tools/model_converters/mkt_to_ours.py STAGE1.pth OUT.pth \\
        --stage2 STAGE2_TEXT.pth          # then configs/mkt_stage2_*.py
    python tools/model_converters/sigrl_to_ours.py SIGRL.pth OUT.pth
    python tools/test.py CONFIG OUT.pth
"""
from typing import Dict, Optional

import torch

from granzsl_mm.structures.prompts import MKT_TEMPLATE

__all__ = ['reference_state_dict', 'convert_stage1',
           'context_token_ids', 'convert_stage2', 'convert']

VISUAL = 'backbone.clip.visual.'
CLIP_VISUAL_KEYS = ('conv1.', 'class_embedding', 'positional_embedding',
                    'ln_pre.', 'transformer.resblocks.', 'ln_post.')
SIGRL_MODULES = {
    'GATv2_1.layer1.': 'local_head.gmc.layer1.',
    'GATv2_1.output.': 'local_head.gmc.layer2.',
    'SemanticDecoupling.fc3.': 'local_head.decoupling.fc.',
    'DecouplingSemantic.fc1.': 'local_head.svfr.fc1.',
    'DecouplingSemantic.fc3.': 'local_head.svfr.fc.',
}
DROPPED = ('projection.', )


def reference_state_dict(ckpt: dict) -> Dict[str, torch.Tensor]:
    """The flat state dict of a reference checkpoint (``module.`` removed).

    Args:
        ckpt (dict): A loaded file (a state dict, or one under
            ``state_dict`` / ``model``).

    Returns:
        dict: Key -> tensor.
    """
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
            break
    return {k.removeprefix('module.'): v for k, v in ckpt.items()
            if torch.is_tensor(v)}


def convert_stage1(state: Dict[str, torch.Tensor],
                   sigrl: bool = False) -> Dict[str, torch.Tensor]:
    """Map a stage-1 (MKT) or SigRL state dict to our keys.

    Args:
        state (dict): Flat reference state dict.
        sigrl (bool): Expect (and map) SigRL's modules.

    Returns:
        dict: Our keys -> tensors.

    Raises:
        KeyError: Unknown keys, or SigRL keys in an MKT conversion.
    """
    out, unknown = {}, []
    for key, value in state.items():
        if key == 'projection_dist':
            out[VISUAL + 'proj'] = value
        elif key.startswith(CLIP_VISUAL_KEYS):
            out[VISUAL + key] = value
        elif key.startswith(DROPPED):
            continue
        elif sigrl and key.startswith(tuple(SIGRL_MODULES)):
            src = next(p for p in SIGRL_MODULES if key.startswith(p))
            rest = key[len(src):]
            if rest.startswith('linear_r.'):
                twin = src + 'linear_l.' + rest[len('linear_r.'):]
                if twin in state and not torch.equal(state[twin], value):
                    raise ValueError(f'{key} differs from {twin}: a GATv2 '
                                     'without shared weights; convert with '
                                     'share_weights=False models only')
                if twin in state:
                    continue
            out[SIGRL_MODULES[src] + rest] = value
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'unexpected keys in the reference checkpoint: '
                       f'{sorted(unknown)[:20]}' + ('' if sigrl else
                                                    ' (a SigRL checkpoint? use '
                                                    'sigrl_to_ours.py)'))
    if VISUAL + 'proj' not in out:
        raise KeyError('no projection_dist in the checkpoint: not an MKT / '
                       'SigRL stage-1 checkpoint')
    return out


def context_token_ids(template: str = MKT_TEMPLATE,
                      tokenizer=None) -> torch.Tensor:
    """Sorted distinct token ids of the prompt outside the class name (with
    the start and end tokens): the rows MKT stage 2 learns."""
    if tokenizer is None:
        import open_clip
        tokenizer = open_clip.get_tokenizer('ViT-B-16')
    tokens = tokenizer([template.format('').replace('  ', ' ')])[0]
    return torch.unique(tokens[tokens != 0])


def convert_stage2(state: Dict[str, torch.Tensor],
                   template: str = MKT_TEMPLATE,
                   tokenizer=None) -> Dict[str, torch.Tensor]:
    """Stage-2 ``PromptLearner`` state -> ``prompt_learner.context``."""
    if 'token_embedding.weight' not in state:
        raise KeyError('no token_embedding.weight: not an MKT stage-2 '
                       'prompt-learner checkpoint')
    ids = context_token_ids(template, tokenizer)
    table = state['token_embedding.weight']
    return {'prompt_learner.context': table[ids].clone()}


def convert(stage1: dict, stage2: Optional[dict] = None, sigrl: bool = False,
            template: str = MKT_TEMPLATE) -> dict:
    """Reference checkpoint(s) -> our mmengine checkpoint dict."""
    state = convert_stage1(reference_state_dict(stage1), sigrl=sigrl)
    if stage2 is not None:
        state.update(convert_stage2(reference_state_dict(stage2), template))
    source = 'sigrl-reference' if sigrl else 'mkt-reference'
    return dict(state_dict={k: v.detach().float().cpu().contiguous()
                            for k, v in state.items()},
                meta=dict(converted_from=source, stage2=stage2 is not None))
