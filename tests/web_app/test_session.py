"""Web-app actions on a tiny GranZSL: rankings equal the model's own
``predict``, label batching changes nothing, and every user mistake comes
back as a message (no exception)."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate

from granzsl_mm.apis import MultiLabelInferencer
from granzsl_mm.web_app import (
    AppAccess,
    AppInputError,
    AppSession,
    check_checkpoint,
)

from .conftest import write_test_image, write_tiny_granzsl


def granzsl_predict(model, image_path, labels):
    """``pred_score`` of GranZSL's own ``predict`` for a label set."""
    model.set_label_set(list(labels))
    pipeline = Compose(model.cfg.test_pipeline)
    data = pseudo_collate([pipeline(dict(img_path=image_path))])
    return model.test_step(data)[0].pred_score.float()


def allowed(tmp_path_factory) -> AppAccess:
    """The web app may open what the tests write under pytest's tmp root."""
    return AppAccess([str(tmp_path_factory.getbasetemp())])


@pytest.fixture(scope='module')
def session(tmp_path_factory):
    return AppSession(access=allowed(tmp_path_factory))


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    return write_test_image(str(tmp_path_factory.mktemp('img') / 'x.png'))


def test_ranking_equals_predict(session, tiny_granzsl, image):
    vocab = ['tree', 'cat', 'boat', 'dog']
    outcome = session.run_ranking([image], ', '.join(vocab),
                                  tiny_granzsl.config,
                                  tiny_granzsl.checkpoint, topk=None)
    assert outcome.ok, outcome.status
    ref = granzsl_predict(tiny_granzsl.model, image, vocab)
    order = torch.sort(ref, descending=True).indices.tolist()
    got = outcome.results[0]
    assert got['name'] == 'x.png'
    assert got['labels'] == [vocab[i] for i in order]
    assert got['scores'] == pytest.approx([float(ref[i]) for i in order],
                                          abs=1e-5)
    assert got['sources'] == ['learned'] * 4
    assert outcome.status == '1 image(s), 4 labels.'
    top2 = session.run_ranking([image], ', '.join(vocab), tiny_granzsl.config,
                               tiny_granzsl.checkpoint, topk=2)
    assert top2.results[0]['labels'] == got['labels'][:2]


def test_thousands_of_labels_batched_with_progress(tiny_granzsl, image,
                                                   tmp_path_factory):
    vocab = tiny_granzsl.class_names + [f'thing {i}' for i in range(295)]
    text = '\n'.join(vocab)
    calls = []
    batched = AppSession(label_batch_size=120,
                          access=allowed(tmp_path_factory)).run_ranking(
        [image, image], text, tiny_granzsl.config, tiny_granzsl.checkpoint,
        topk=None, progress=lambda f, t: calls.append((f, t)))
    assert batched.ok, batched.status
    assert [f for f, _ in calls] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert [t for _, t in calls] == [
        'Scoring labels 1-120 of 300', 'Scoring labels 121-240 of 300',
        'Scoring labels 241-300 of 300', 'Scored 300 labels']
    assert 'scored in 3 batches of 120' in batched.status
    single = AppSession(label_batch_size=5000,
                         access=allowed(tmp_path_factory)).run_ranking(
        [image], text, tiny_granzsl.config, tiny_granzsl.checkpoint,
        topk=None)
    one, many = single.results[0], batched.results[0]
    assert many['labels'] == one['labels'] and len(one['labels']) == 300
    assert many['scores'] == pytest.approx(one['scores'], abs=1e-5)
    assert batched.results[1]['name'] == 'x.png (2)'
    learned = {n for n, s in zip(one['labels'], one['sources'])
               if s == 'learned'}
    assert learned == set(tiny_granzsl.class_names)


def test_tta_switch(session, tiny_granzsl, image):
    vocab = ['cat', 'dog', 'tree']
    outcome = session.run_ranking([image], ','.join(vocab),
                                  tiny_granzsl.config,
                                  tiny_granzsl.checkpoint, tta=True, topk=None)
    assert outcome.ok and 'snippet aggregation on' in outcome.status
    ref = MultiLabelInferencer(tiny_granzsl.config,
                               pretrained=tiny_granzsl.checkpoint, tta=True,
                               vocabulary=vocab)(image, topk=None,
                                                 progress=False)[0]
    got = outcome.results[0]
    assert got['labels'] == ref['labels']
    assert got['scores'] == pytest.approx(ref['scores'], abs=1e-5)
    plain = granzsl_predict(tiny_granzsl.model, image, vocab)
    assert not np.allclose(sorted(got['scores']), sorted(plain.tolist()))


def test_score_map(session, tiny_granzsl, image):
    outcome = session.run_score_map(image, 'red car', tiny_granzsl.config,
                                    tiny_granzsl.checkpoint)
    assert outcome.ok, outcome.status
    model = tiny_granzsl.model
    data = pseudo_collate([Compose(model.cfg.test_pipeline)(
        dict(img_path=image))])
    inputs = model.data_preprocessor(data, False)['inputs']
    with torch.no_grad():
        local, _ = model.view_cosines(inputs,
                                      [model.class_names.index('red car')])
    assert outcome.score_map == pytest.approx(local[0, 0].numpy(), abs=1e-5)
    assert outcome.overlay.shape == (288, 384, 3)  # 96x128 shown at 384 px
    assert 'red car' in outcome.status
    assert not session.run_score_map(None, 'cat', tiny_granzsl.config).ok


def test_user_mistakes_are_messages(session, tiny_granzsl, image, tmp_path):
    cfg, ckpt = tiny_granzsl.config, tiny_granzsl.checkpoint
    bad_image = tmp_path / 'broken.png'
    bad_image.write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    cases = {
        'vocabulary is empty': ([image], ' , \n', cfg, ckpt),
        "Cannot read 'broken.png' as an image": (
            [image, str(bad_image)], 'cat', cfg, ckpt),
        'No image': ([], 'cat', cfg, ckpt),
        "Config 'nowhere.py' is not allowed": ([image], 'cat', 'nowhere.py',
                                               ''),
        'Config not found': ([image], 'cat', str(tmp_path / 'none.py'), ''),
        'Checkpoint not found': ([image], 'cat', cfg, str(tmp_path / 'x.pth')),
    }
    cases["Config options must read key=value, got 'oops'"] = (
        [image], 'cat', cfg, ckpt, 'oops')
    for message, args in cases.items():
        outcome = session.run_ranking(*args)
        assert not outcome.ok and message in outcome.status, outcome.status
        assert outcome.html == '' and 'Traceback' not in outcome.status

    broken_cfg = tmp_path / 'broken.py'
    broken_cfg.write_text("model = dict(type='NoSuchClassifier')\n")
    outcome = session.run_ranking([image], 'cat', str(broken_cfg), '')
    assert 'Cannot build the model of' in outcome.status
    assert 'NoSuchClassifier' in outcome.status


def test_checkpoint_not_matching_config(session, tiny_granzsl, image,
                                        tmp_path):
    other = write_tiny_granzsl(str(tmp_path), ['a', 'b', 'c', 'd', 'e', 'f',
                                               'g'], seed=1)
    outcome = session.run_ranking([image], 'cat', tiny_granzsl.config,
                                  other.checkpoint)
    assert not outcome.ok
    assert 'config: tiny_granzsl_5.py' in outcome.status
    assert ('1 tensors differ in shape: name_learner.name_vectors '
            '(checkpoint (7,') in outcome.status

    foreign = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict={'head.fc.weight': torch.zeros(2, 2)}),
               str(foreign))
    with pytest.raises(AppInputError) as info:
        check_checkpoint(tiny_granzsl.model, str(foreign), 'cfg.py')
    text = str(info.value)
    assert '1 tensors in the checkpoint are unknown to the model: ' \
           'head.fc.weight' in text
    assert 'of the model are missing from the checkpoint' in text
    check_checkpoint(tiny_granzsl.model, tiny_granzsl.checkpoint)  # fits


def test_option_values_are_checked_before_a_model_is_built(
        tiny_granzsl, image, tmp_path_factory):
    """``model.logit_scale=nan`` once gave all-NaN scores under a normal
    status line: every such value is a page message, and no model is
    built for it."""
    session = AppSession(access=allowed(tmp_path_factory))
    cases = {'nan': 'finite number', 'inf': 'finite number',
             '1e400': 'finite number', '-1e30': 'from 0.001 to 1000',
             '0': 'from 0.001 to 1000', 'true': 'from 0.001 to 1000',
             '[1,nan]': 'finite number'}
    for value, words in cases.items():
        outcome = session.run_ranking(
            [image], 'cat', tiny_granzsl.config, tiny_granzsl.checkpoint,
            f'model.logit_scale={value}')
        assert not outcome.ok and 'model.logit_scale' in outcome.status \
            and words in outcome.status, (value, outcome.status)
    assert not session._models
    for thresholds in (dict(learned=float('nan')), dict(prompt='inf'),
                       dict(learned='lots'), dict(other=1.0)):
        outcome = session.run_ranking([image], 'cat', tiny_granzsl.config,
                                      tiny_granzsl.checkpoint,
                                      thresholds=thresholds)
        assert not outcome.ok and 'threshold' in outcome.status
    for topk in (float('nan'), -3, 2.5):
        outcome = session.run_ranking([image], 'cat', tiny_granzsl.config,
                                      tiny_granzsl.checkpoint, topk=topk)
        assert not outcome.ok and 'Labels shown per image' in outcome.status
    assert not session._models
