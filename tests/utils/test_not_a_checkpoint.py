"""A file that is no torch file at all is named as such by the loader."""
import pytest
import torch

from granzsl_mm.utils.safe_checkpoint import NotACheckpointError, safe_torch_load


@pytest.mark.parametrize('content', [b'hello\n', b'\x89PNG\r\n\x1a\n', b'{}'])
def test_text_or_image_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / 'weights.pth'
    path.write_bytes(content)
    with pytest.raises(NotACheckpointError, match='not a PyTorch checkpoint'):
        safe_torch_load(str(path))


@pytest.mark.parametrize('zip_format', [True, False])
def test_torch_files_still_load(tmp_path, zip_format):
    path = str(tmp_path / 'weights.pth')
    torch.save(dict(w=torch.arange(3.0)), path,
               _use_new_zipfile_serialization=zip_format)
    assert safe_torch_load(path)['w'].tolist() == [0.0, 1.0, 2.0]
