"""RecoverMatch's two optimizers and schedule against the reference's.

The reference (``EricTan7/RAM`` at f2073f994eeecb0adb9a8a4cec9d011e5e9aa8a7,
``solver/make_optimizer.py``, ``solver/make_scheduler.py``, ``train.py``,
``processor/processor.py``) trains the adapters and temperatures with AdamW
(adapters at 0.1 x 5e-5, temperatures at 5e-5, weight decay 1e-4) and the
tokens ("embeds") with SGD (1e-3, momentum 0.9, weight decay 1e-4), each
with its own timm ``CosineLRScheduler`` of the same values (warm-up from the
absolute 5e-7 over 3 epochs, floor 1e-7, 60 epochs), stepped with the
1-based epoch before each epoch; one backward, both optimizers step.

Two training steps (epochs 1 and 2 of the schedule) from the same tiny
random weights, compared parameter by parameter within 1e-6 (float32):

* ours: ``configs/recover_match_coco.py``'s ``optim_wrapper`` and
  ``param_scheduler`` built as the runner builds them, stepped by
  ``RecoverMatch.train_step``;
* an independent ``torch.optim.AdamW`` + ``torch.optim.SGD`` with the
  reference's hyper-parameters and timm's formula for the rates.

``GOLDEN`` was recorded once by running the reference's own
``make_optimizer`` / ``make_scheduler`` (unchanged; its ``cfg`` a namespace
with configs/coco.yml's and config/defaults.py's values) outside the
project, on the same model with its parameters registered under the
reference's names (``clip_model.*adapter*``, ``clip_model.*embeds``,
``temperature``, ``temperature_loc``), the same inputs and the same two
steps: the sum of every trainable parameter after the steps.
"""
import copy
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS, PARAM_SCHEDULERS

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                  'recover_match_coco.py')
TOKENS = ('adapter_tokens.', 'text_prompts.')
# reference: sum of each trainable parameter after the two steps
GOLDEN = {
    'temperature': 0.07005050033330917,
    'local_temperature': 0.002049835864454508,
    'adapters.1.stream_1x1.0.weight': 3.368867747456534,
    'adapters.1.stream_1x1.1.weight': 32.41866886615753,
    'adapters.1.stream_1x1.1.bias': 0.3051707776830881,
    'adapters.1.stream_3x3.0.weight': -2.7894022933000997,
    'adapters.1.stream_3x3.1.weight': 31.998804211616516,
    'adapters.1.stream_3x3.1.bias': -0.11151190439704806,
    'adapters.1.gate.weight': -0.5461514820344746,
    'adapters.1.out.weight': -3.806007242645137,
    'adapters.1.norm_q1.weight': 31.56179791688919,
    'adapters.1.norm_q1.bias': 0.15990714426152408,
    'adapters.1.norm_q2.weight': 31.999532282352448,
    'adapters.1.norm_q2.bias': 0.235471167601645,
    'adapters.1.norm_kv.weight': 31.705815613269806,
    'adapters.1.norm_kv.bias': -0.2742912685498595,
    'adapter_tokens.1': 0.683881176628347,
    'text_prompts.1': -0.40469476266298443,
}
TOL = 1e-6

pytestmark = pytest.mark.slow  # two training steps


def tiny_model():
    """A tiny RecoverMatch with deterministic random weights."""
    register_all_modules()
    from tests.fixtures.tiny_override import tiny_model_cfg
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='RecoverMatch',
        backbone=dict(type='OpenCLIPBackbone', arch='TinyCLIP-test',
                      model_cfg=tiny_model_cfg(), pretrained='random'),
        num_classes=5, num_seen_classes=3,
        class_names=['cat', 'dog', 'car', 'bus', 'tree'],
        adapter_blocks=(1, ), text_prompt_blocks=(1, )))
    with torch.no_grad():  # adapters start away from zero: every part moves
        for name, p in model.named_parameters():
            if p.requires_grad and name.startswith('adapters.'):
                p.add_(0.05 * torch.randn_like(p))
    return model


def batches():
    """Two batches of images and seen-class targets."""
    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(2):
        images = torch.rand(4, 3, 32, 32, generator=g) * 255
        targets = (torch.rand(4, 5, generator=g) > 0.5).float()
        targets[:, 0] = 1  # every image has a positive
        targets[:, 3:] = -1  # unseen: unknown in training
        out.append((images, targets))
    return out


def timm_lr(t, base, warmup_t=3, warmup_lr_init=5e-7, lr_min=1e-7,
            t_initial=60):
    """timm ``CosineLRScheduler._get_lr`` (one cycle), written out."""
    if t < warmup_t:
        return warmup_lr_init + t * (base - warmup_lr_init) / warmup_t
    return lr_min + 0.5 * (base - lr_min) * (1 + math.cos(math.pi * t
                                                           / t_initial))


def run_ours(model):
    cfg = Config.fromfile(CONFIG)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrappers, OptimWrapperDict)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=w))
                  for w in wrappers.values() for s in cfg.param_scheduler]
    for images, targets in batches():
        data = dict(inputs=images,
                    data_samples=[DataSample(gt_score=t) for t in targets])
        model.train_step(data, wrappers)
        for s in schedulers:  # end of the epoch
            s.step()
    return wrappers


def run_independent(model):
    named = {n: p for n, p in model.named_parameters() if p.requires_grad}
    tokens = [p for n, p in named.items() if n.startswith(TOKENS)]
    adapters = [p for n, p in named.items() if n.startswith('adapters.')]
    rest = [p for n, p in named.items()
            if not n.startswith(TOKENS + ('adapters.', ))]
    adamw = torch.optim.AdamW([
        dict(params=adapters, lr=5e-6, weight_decay=1e-4),
        dict(params=rest, lr=5e-5, weight_decay=1e-4)])
    sgd = torch.optim.SGD([dict(params=tokens, lr=1e-3, weight_decay=1e-4)],
                          momentum=0.9)
    for epoch, (images, targets) in enumerate(batches(), start=1):
        for opt, bases in ((adamw, (5e-6, 5e-5)), (sgd, (1e-3, ))):
            for group, base in zip(opt.param_groups, bases):
                group['lr'] = timm_lr(epoch, base)
        adamw.zero_grad()
        sgd.zero_grad()
        losses = model.loss(images, [DataSample(gt_score=t) for t in targets])
        sum(losses.values()).backward()
        adamw.step()
        sgd.step()
    return named


@pytest.fixture(scope='module')
def stepped():
    ours = tiny_model()
    theirs = copy.deepcopy(ours)
    start = {n: p.detach().clone() for n, p in ours.named_parameters()
             if p.requires_grad}
    wrappers = run_ours(ours)
    run_independent(theirs)
    return ours, theirs, start, wrappers


def test_two_steps_equal_the_reference_optimizers(stepped):
    ours, theirs, start, _ = stepped
    mine = dict(ours.named_parameters())
    other = dict(theirs.named_parameters())
    for name, before in start.items():
        assert not torch.equal(mine[name], before), f'{name} did not move'
        diff = (mine[name] - other[name]).abs().max().item()
        assert diff < TOL, (name, diff)
    for name, want in GOLDEN.items():
        assert abs(mine[name].sum().item() - want) < TOL * max(
            1.0, mine[name].numel()), name


def test_split_and_schedule_follow_the_reference(stepped):
    _, _, start, wrappers = stepped
    assert list(wrappers.keys()) == ['adamw', 'sgd']
    sgd = wrappers['sgd'].optimizer
    assert isinstance(sgd, torch.optim.SGD)
    assert isinstance(wrappers['adamw'].optimizer, torch.optim.AdamW)
    assert {id(p) for g in sgd.param_groups for p in g['params']} and all(
        g['momentum'] == 0.9 and g['weight_decay'] == 1e-4
        for g in sgd.param_groups)
    n_tokens = sum(len(g['params']) for g in sgd.param_groups)
    assert n_tokens == sum(n.startswith(TOKENS) for n in start)
    # after two epochs: the third epoch's rate (t=3, cosine), both optimizers
    assert sgd.param_groups[0]['lr'] == pytest.approx(timm_lr(3, 1e-3),
                                                      rel=1e-12)
    lrs = sorted({g['lr'] for g in wrappers['adamw'].optimizer.param_groups})
    assert lrs == pytest.approx([timm_lr(3, 5e-6), timm_lr(3, 5e-5)],
                                rel=1e-12)


def test_amp_steps_both_optimizers_with_one_loss_scaler(monkeypatch):
    # AMP as the reference (one GradScaler): scale + backward once, a step
    # per optimizer, one update. mmengine's AmpOptimWrapper asserts a GPU;
    # on CPU the control flow is checked with a recording scaler.
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    cfg = Config.fromfile(CONFIG).optim_wrapper
    for name in ('adamw', 'sgd'):
        cfg[name].update(type='AmpOptimWrapper', dtype='bfloat16')
    model = tiny_model()
    wrappers = build_optim_wrapper(model, cfg)
    assert wrappers['adamw'].loss_scaler is wrappers['sgd'].loss_scaler
    calls = []

    class Recorder:

        def scale(self, loss):
            calls.append('scale')
            return loss

        def step(self, optimizer):
            calls.append(type(optimizer).__name__)
            optimizer.step()

        def update(self, *args):
            calls.append('update')

    recorder = Recorder()
    for w in wrappers.values():  # shared, as the constructor leaves them
        w.loss_scaler = recorder
    images, targets = batches()[0]
    before = model.adapter_tokens['1'].detach().clone()
    model.train_step(dict(inputs=images, data_samples=[
        DataSample(gt_score=t) for t in targets]), wrappers)
    assert calls == ['scale', 'AdamW', 'SGD', 'update']
    assert not torch.equal(model.adapter_tokens['1'], before)


def test_two_ddp_ranks_step_both_optimizers_as_one_process(tmp_path):
    """Two gloo ranks (TrainableDDP, each on half of every batch) end with
    the parameters of one process stepping both optimizers on the mean of
    the two halves' gradients (what DDP averages)."""
    import os
    import subprocess
    import sys

    from tests.fixtures.run_tools import REPO, free_port
    out = str(tmp_path / 'ddp.pt')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         '2', '--master_port', str(free_port()),
         os.path.join('tests', 'fixtures', 'recover_match_ddp_worker.py'),
         out], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    ddp = torch.load(out)
    model = tiny_model()
    start = {n: p.detach().clone() for n, p in model.named_parameters()
             if p.requires_grad}
    wrappers = build_optim_wrapper(model, Config.fromfile(CONFIG).optim_wrapper)
    for images, targets in batches():
        losses = []
        for half in (slice(0, 2), slice(2, 4)):
            data = model.data_preprocessor(dict(
                inputs=images[half],
                data_samples=[DataSample(gt_score=t) for t in targets[half]]),
                True)
            losses.append(model.parse_losses(
                model(**data, mode='loss'))[0])
        (0.5 * (losses[0] + losses[1])).backward()
        for w in wrappers.values():
            w.step()
            w.zero_grad()
    assert ddp.keys() == start.keys()
    for name, p in model.named_parameters():
        if name in ddp:
            assert not torch.equal(ddp[name], start[name]), name
            diff = (ddp[name] - p.detach()).abs().max().item()
            assert diff < TOL, (name, diff)
