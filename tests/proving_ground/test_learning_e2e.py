"""Learning checked on images, end to end (one test, a few minutes on 2 CPU
cores): a small world, a short contrastive pre-training of the tiny CLIP,
then the CLIP prompt baseline and GranZSL's learned names must rank the
*unseen* classes' test images clearly better than random scores."""
import os.path as osp

import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
MARGIN = 2.0  # x the exact chance mAP of random scores (same protocol)


def test_pretrained_tiny_clip_and_granzsl_transfer_to_unseen(tmp_path):
    from granzsl_mm.evaluation.functional.chance import chance_map
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from granzsl_mm.proving_ground import build_synthetic_world
    from granzsl_mm.proving_ground import pipeline as wd
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # far faster than 2 on a shared machine
    try:
        data = str(tmp_path / 'world')
        meta = build_synthetic_world(data, num_train=1500, num_test=200,
                                     seed=0)
        ckpt = wd.pretrain_tiny_clip(
            osp.join(ROOT, 'configs', 'pretrain_tiny_clip_demo.py'), data,
            str(tmp_path / 'pretrain'), max_iters=150)
        # a plain open_clip checkpoint: the backbone loads it as is
        state = torch.load(ckpt, map_location='cpu', weights_only=True)
        backbone = OpenCLIPBackbone(arch='TinyCLIP-world', pretrained=ckpt)
        for key, value in backbone.clip.state_dict().items():
            torch.testing.assert_close(value, state[key])

        cfg = wd.demo_config(osp.join(ROOT, 'configs', 'granzsl_demo.py'),
                             data, ckpt, meta)
        targets = wd.load_test_targets(cfg)
        n_seen = len(meta['seen_classes'])
        # chance under the config's own protocol (empty images / classes)
        protocol = dict(
            empty_class=cfg.test_evaluator.get('empty_class', 'zero'),
            drop_empty_images=cfg.test_evaluator.get('drop_empty_images',
                                                     False))
        chance = chance_map(targets[:, n_seen:], **protocol)
        chance_gzsl = chance_map(targets, **protocol)
        assert 5.0 < chance < 40.0 and 5.0 < chance_gzsl < 40.0

        clip = wd.clip_zero_shot(cfg, meta, str(tmp_path / 'clip'))
        assert clip['zsl/mAP'] > MARGIN * chance, (clip, chance)

        res = wd.train_and_test_granzsl(
            osp.join(ROOT, 'configs', 'granzsl_demo.py'), data, ckpt, meta,
            str(tmp_path / 'granzsl'), max_epochs=3, snippets=False)
        print(f"\nunseen mAP: chance {chance:.1f}, CLIP prompts "
              f"{clip['zsl/mAP']:.1f}, GranZSL {res['plain']['zsl/mAP']:.1f}")
        assert res['plain']['zsl/mAP'] > MARGIN * chance, (res, chance)
        # GZSL mixes the unseen names with 21 seen ones at three levels:
        # a smaller, still clear margin after 3 epochs
        assert res['plain']['gzsl/mAP'] > 1.5 * chance_gzsl, (res,
                                                             chance_gzsl)
    finally:
        torch.set_num_threads(threads)
