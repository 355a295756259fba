"""The demo config trains and tests end to end through tools/train.py and
tools/test.py --tta (tiny CLIP, a small COCO-format world written here)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmpretrain.evaluation import AveragePrecision

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from granzsl_mm.evaluation.prediction_dump import load_predictions

pytestmark = pytest.mark.slow

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SEEN = ['red circle', 'blue circle', 'red square', 'green square']
UNSEEN = ['blue square', 'green circle']


def _write_world(root: str, num_images: int = 12) -> None:
    """COCO instances json + split + descriptions + images (official formats)."""
    from PIL import Image
    rng = np.random.default_rng(0)
    classes = SEEN + UNSEEN
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    colours = dict(red=(220, 30, 30), blue=(30, 30, 220), green=(30, 200, 30))
    images, anns = [], []
    for i in range(num_images):
        canvas = np.full((32, 32, 3), 255, np.uint8)
        picked = rng.choice(len(classes), size=2, replace=False)
        for k, c in enumerate(picked):
            colour, shape = classes[c].split()
            x0 = 2 + 15 * k
            if shape == 'square':
                canvas[8:22, x0:x0 + 13] = colours[colour]
            else:
                yy, xx = np.mgrid[:32, :32]
                canvas[(yy - 15) ** 2 + (xx - x0 - 6) ** 2 < 40] = colours[colour]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=int(c) + 1, bbox=[x0, 8, 13, 14],
                             area=182.0, iscrowd=0))
        name = f'{i:04d}.png'
        Image.fromarray(canvas).save(osp.join(root, 'images', name))
        images.append(dict(id=i + 1, file_name=name, width=32, height=32))
    cats = [dict(id=i + 1, name=n, supercategory='shape')
            for i, n in enumerate(classes)]
    with open(osp.join(root, 'annotations', 'instances_test.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    with open(osp.join(root, 'split.json'), 'w') as f:
        json.dump(dict(seen=SEEN, unseen=UNSEEN), f)
    desc = {}
    for n in classes:
        colour, shape = n.split()
        desc[n] = dict(attributes=[f'is {colour}', f'looks like a {shape}'],
                       parents=[shape, 'shape'],
                       cooccurrence=['a white background'])
    with open(osp.join(root, 'descriptions.json'), 'w') as f:
        json.dump({'format': 'granzsl_mm.descriptions/v1', 'classes': desc}, f)


def _run(args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _scalars(work_dir):
    found = []
    for dirpath, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            found.append(osp.join(dirpath, 'scalars.json'))
    assert found, f'no scalars.json under {work_dir}'
    with open(sorted(found)[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_demo_trains_and_tests_with_snippets(tmp_path):
    data = str(tmp_path / 'demo')
    _write_world(data)
    work = str(tmp_path / 'work')
    opts = [
        '--cfg-options', 'model.num_classes=6', 'model.num_seen_classes=4',
        'model.backbone.pretrained=random',
        f'train_dataloader.dataset.description_file={data}/descriptions.json',
        f'train_dataloader.dataset.split_file={data}/split.json',
        f'test_dataloader.dataset.data_root={data}',
        'train_dataloader.batch_size=8',
    ]
    _run(['tools/train.py', 'configs/granzsl_demo.py', '--work-dir', work]
         + opts)
    logs = [r for r in _scalars(work) if 'loss_align' in r]
    epochs = sorted({r['epoch'] for r in logs})
    first = np.mean([r['loss_align'] for r in logs if r['epoch'] == epochs[0]])
    last = np.mean([r['loss_align'] for r in logs if r['epoch'] == epochs[-1]])
    assert last < first, (first, last)

    ckpts = sorted(f for f in os.listdir(work) if f.startswith('epoch_'))
    out = str(tmp_path / 'preds.pkl')
    proc = _run(['tools/test.py', 'configs/granzsl_demo.py',
                 osp.join(work, ckpts[-1]), '--tta', '--work-dir', work,
                 '--out', out] + opts)
    line = [ln for ln in (proc.stdout + proc.stderr).splitlines()
            if 'Epoch(test)' in ln][-1]
    logged = {k: float(v) for k, v in re.findall(r'(\S+/\S+): (\S+)', line)}
    # the metric the config names (ZSLMultiLabelMetric, GranZSL's protocol)
    # on the dumped snippet-aggregated predictions
    preds = load_predictions(out)
    targets = np.stack([p['gt_score'] for p in preds])
    label_sets = dict(
        gzsl=(np.stack([p['pred_score'] for p in preds]), targets),
        zsl=(np.stack([p['pred_score_zsl'] for p in preds]),
             targets[:, len(SEEN):]))
    for name, (scores, labels) in label_sets.items():
        ref = multilabel_zsl_metrics(scores, labels, topk=(3, 5),
                                     drop_empty_images=True)
        for key in ('mAP', 'F1@3', 'F1@5'):
            assert logged[f'{name}/{key}'] == pytest.approx(ref[key],
                                                            abs=1e-3), key


def _mmpretrain_ann(root: str) -> str:
    """The fixture's test set as an MMPretrain MultiLabelDataset file."""
    with open(osp.join(root, 'annotations', 'instances_test.json')) as f:
        inst = json.load(f)
    labels = {}
    for ann in inst['annotations']:
        labels.setdefault(ann['image_id'], set()).add(ann['category_id'] - 1)
    out = osp.join(root, 'mmpretrain_test.json')
    with open(out, 'w') as f:
        json.dump(dict(
            metainfo=dict(classes=SEEN + UNSEEN),
            data_list=[dict(img_path=osp.join(root, 'images', im['file_name']),
                            gt_label=sorted(labels[im['id']]))
                       for im in inst['images']]), f)
    return out


def test_demo_config_runner_in_process(tmp_path):
    """The demo config through the same runner set-up as the tools, in
    process: train, then test with --tta's wrapping, on MMPretrain's
    MultiLabelDataset and AveragePrecision (our types mix with stock ones)."""
    from mmengine.config import Config

    from granzsl_mm.engine import build_runner, prepare_test_cfg, prepare_train_cfg
    data = str(tmp_path / 'demo')
    _write_world(data)
    work = str(tmp_path / 'work')
    config = osp.join(ROOT, 'configs', 'granzsl_demo.py')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({
        'model.num_classes': 6, 'model.num_seen_classes': 4,
        'model.backbone.pretrained': 'random',
        'train_dataloader.batch_size': 8,
        'train_dataloader.dataset.description_file':
        f'{data}/descriptions.json',
        'train_dataloader.dataset.split_file': f'{data}/split.json'})
    cfg.test_dataloader.dataset = dict(
        type='MultiLabelDataset', ann_file=_mmpretrain_ann(data),
        pipeline=cfg.test_pipeline)
    cfg.test_evaluator = dict(type='AveragePrecision')
    test_cfg = cfg.copy()

    prepare_train_cfg(cfg, config, work_dir=work)
    runner = build_runner(cfg)
    runner.train()
    logs = [r for r in _scalars(work) if 'loss_align' in r]
    epochs = sorted({r['epoch'] for r in logs})
    first = np.mean([r['loss_align'] for r in logs if r['epoch'] == epochs[0]])
    last = np.mean([r['loss_align'] for r in logs if r['epoch'] == epochs[-1]])
    assert last < first, (first, last)

    ckpt = osp.join(work, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    prepare_test_cfg(test_cfg, config, ckpt, work_dir=work, tta=True)
    runner = build_runner(test_cfg)
    assert type(runner.model).__name__ == 'SnippetTTAModel'
    metrics = runner.test()
    # the snippet-aggregated scores of the same images (two of them are the
    # same picture: MMPretrain's own AP, whose tie order scikit-learn's
    # threshold grouping does not follow)
    scores, targets = [], []
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for sample in runner.model.test_step(batch):
                scores.append(sample.pred_score.numpy())
                onehot = np.zeros(len(SEEN + UNSEEN))
                onehot[sample.gt_label.numpy()] = 1
                targets.append(onehot)
    expected = AveragePrecision.calculate(np.stack(scores), np.stack(targets))
    assert metrics['multi-label/mAP'] == pytest.approx(expected.item(),
                                                       abs=1e-3)
    # the checkpoint's learned names are the ones evaluated
    from granzsl_mm.utils import safe_torch_load
    saved = safe_torch_load(ckpt, map_location='cpu')
    torch.testing.assert_close(
        runner.model.module.name_learner.name_vectors.detach(),
        saved['state_dict']['name_learner.name_vectors'])
