"""TorchScript archives are read as data: the same tensors as
``torch.jit.load(...).state_dict()``, and nothing of the archive runs."""
import pickle
import warnings
import zipfile

import pytest
import torch
import torch.nn as nn

from granzsl_mm.utils.torchscript_archive import (
    TorchScriptArchiveError,
    is_torchscript_archive,
    read_torchscript_state_dict,
)


class _Block(nn.Module):

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.attn_mask = torch.zeros(1)  # a plain attribute: not in state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) + self.attn_mask.sum()


class _Model(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 5)  # another Linear type: a mangled class
        self.blocks = nn.Sequential(_Block(5), _Block(5))
        self.norm = nn.LayerNorm(5).half()
        self.register_buffer('mask', torch.arange(6).view(2, 3))
        self.logit_scale = nn.Parameter(torch.tensor(2.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.blocks(self.b(self.a(x)))
        return self.norm(y.half()).float() * self.logit_scale


def _script(module: nn.Module, path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch.jit.script is deprecated
        torch.jit.save(torch.jit.script(module), str(path))
    return str(path)


@pytest.fixture(scope='module')
def archive(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return _script(_Model(), tmp_path_factory.mktemp('ts') / 'model.pt')


def test_state_dict_equals_torch_jit_load(archive):
    got = read_torchscript_state_dict(archive)
    expected = torch.jit.load(archive).state_dict()
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        torch.testing.assert_close(got[key], value, rtol=0, atol=0)
    assert 'blocks.0.attn_mask' not in got


def test_no_code_of_the_archive_runs(archive, monkeypatch):

    def refuse(*args, **kwargs):
        raise AssertionError('torch.jit.load was called')

    monkeypatch.setattr(torch.jit, 'load', refuse)
    assert 'a.weight' in read_torchscript_state_dict(archive)


def _replace_data_pkl(src: str, dst, payload: bytes) -> str:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('/data.pkl'):
                data = payload
            zout.writestr(item, data)
    return str(dst)


class _Exploit:

    def __reduce__(self):
        import os
        return (os.system, ('echo pwned > /dev/null', ))


def test_a_crafted_archive_is_refused_before_anything_runs(archive, tmp_path):
    victim = tmp_path / 'victim.txt'
    victim.write_text('intact')

    for payload in (pickle.dumps(_Exploit(), protocol=2),
                    pickle.dumps({'x': _Exploit()}, protocol=2)):
        bad = _replace_data_pkl(archive, tmp_path / 'bad.pt', payload)
        assert is_torchscript_archive(bad)
        with pytest.raises(TorchScriptArchiveError,
                           match=r'asks for (posix|os)\.system.*nothing in it '
                           'ran'):
            read_torchscript_state_dict(bad)
    with pytest.raises(TorchScriptArchiveError, match='builtins'):
        read_torchscript_state_dict(_replace_data_pkl(
            archive, tmp_path / 'bad2.pt', b'\x80\x02cbuiltins\neval\n.'))
    assert victim.read_text() == 'intact'


def test_torch_save_files_and_other_files_are_not_archives(tmp_path):
    saved = tmp_path / 'state.pt'
    torch.save({'w': torch.ones(2)}, saved)
    assert not is_torchscript_archive(str(saved))
    plain = tmp_path / 'plain.zip'
    with zipfile.ZipFile(plain, 'w') as z:
        z.writestr('x/data.pkl', pickle.dumps({}))
    assert not is_torchscript_archive(str(plain))
    with pytest.raises(TorchScriptArchiveError, match='not a TorchScript'):
        read_torchscript_state_dict(str(saved))
    (tmp_path / 'text.pt').write_text('not a zip')
    assert not is_torchscript_archive(str(tmp_path / 'text.pt'))


def test_openai_format_clip_loads_into_the_backbone_without_jit(
        tmp_path, monkeypatch):
    """An OpenAI-style TorchScript CLIP (QuickGELU) builds the same model
    through ``build_open_clip`` as the scripted one, with torch.jit.load
    unavailable."""
    import json
    import os.path as osp

    import open_clip

    from granzsl_mm.models.backbones import open_clip_builder
    cfg_path = osp.join(osp.dirname(open_clip_builder.__file__),
                        'model_configs', 'TinyCLIP-test.json')
    with open(cfg_path) as f:
        cfg = json.load(f)
    torch.manual_seed(1)
    reference = open_clip.model.CLIP(**cfg, quick_gelu=True).eval()
    path = _script(reference, tmp_path / 'ViT-tiny.pt')
    monkeypatch.setattr(torch.jit, 'load', lambda *a, **k: (_ for _ in ()).throw(
        AssertionError('torch.jit.load was called')))
    model, _ = open_clip_builder.build_open_clip('TinyCLIP-test',
                                                 pretrained=path)
    image = torch.randn(2, 3, 32, 32)
    text = torch.randint(0, 49408, (2, 77))
    with torch.no_grad():
        torch.testing.assert_close(model.encode_image(image),
                                   reference.encode_image(image),
                                   rtol=0, atol=0)
        torch.testing.assert_close(model.encode_text(text),
                                   reference.encode_text(text),
                                   rtol=0, atol=0)
    wrong = _script(nn.Linear(2, 2), tmp_path / 'linear.pt')
    with pytest.raises(ValueError, match='does not fit this open_clip model'):
        open_clip_builder.build_open_clip('TinyCLIP-test', pretrained=wrong)


def test_checkpoint_loader_never_hands_an_archive_to_torch_jit(
        archive, monkeypatch):
    """torch.load(weights_only=False) dispatches a TorchScript zip to
    torch.jit.load; the checkpoint door refuses it, trusted or not."""
    from granzsl_mm.utils.safe_checkpoint import (
        UnsafeCheckpointError,
        safe_torch_load,
        set_checkpoint_trust,
    )

    def refuse(*args, **kwargs):
        raise AssertionError('torch.jit.load was called')

    monkeypatch.setattr(torch.jit, 'load', refuse)
    for trust in (False, True):
        set_checkpoint_trust(trust)
        try:
            with pytest.raises(UnsafeCheckpointError,
                               match='TorchScript archive.*--clip-checkpoint'):
                safe_torch_load(archive)
        finally:
            set_checkpoint_trust(False)
