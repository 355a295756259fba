"""BiAM's Open Images protocol against the recorded outputs of its code.

Golden numbers: a faithful CPU port of akshitac8/BiAM@4e391f1
``util_openimages.compute_AP`` / ``compute_F1`` and the pipelines of
``evaluate_openimages.py`` (float32 torch), run on the seeded case below;
the true per-class references are sklearn's ``average_precision_score``.
"""
import numpy as np
import pytest

from granzsl_mm.evaluation.functional.openimages_protocol import (
    biam_pooled_ap,
    biam_pooled_ap_sparse,
    openimages_metrics,
)
from granzsl_mm.utils.label_matrix import signed_to_ours


def _golden_inputs():
    """The recorded case: 50 images x 12 classes, BiAM's signed labels."""
    rng = np.random.default_rng(20)
    n, c = 50, 12
    lab = rng.choice([1, -1, 0], size=(n, c), p=[0.25, 0.35, 0.40])
    lab[:, 5] = 0  # all unknown
    lab[:, 7] = np.where(rng.random(n) < 0.5, -1, 0)  # negatives only
    lab[3, :] = np.where(rng.random(c) < 0.5, -1, 0)  # no positive
    lab[17, :] = 0  # all unknown
    scores = rng.standard_normal((n, c)).astype(np.float32)
    # the recorded values (first row / image 3)
    assert lab[0].tolist() == [-1, -1, 1, -1, -1, 0, 1, 0, 0, -1, 0, -1]
    assert lab[3].tolist() == [-1, 0, 0, 0, -1, 0, -1, 0, 0, -1, -1, 0]
    assert scores[0, :3].tolist() == [0.3222239911556244, -0.23560602962970734,
                                      -0.6894635558128357]
    return scores, signed_to_ours(lab)


SCORES, TARGETS = _golden_inputs()
TOL = 1e-5  # the golden values are float32 (in %: 1e-5 % is far below)

RAW_POOLED = [0.41688746213912964, 0.37632840871810913, 0.3338547945022583,
              0.3461763858795166, 0.4145142138004303, 0.0, 0.4345790445804596,
              0.3773927688598633, 0.3749329745769501, 0.4296513795852661,
              0.43257075548171997, 0.47310465574264526]
SEEN_STYLE_POOLED = [0.4571489691734314, 0.4170742928981781,
                     0.3775218725204468, 0.41498881578445435,
                     0.4648692309856415, 0.49431246519088745,
                     0.4539066553115845, 0.42558231949806213,
                     0.4831058084964752, 0.48249638080596924,
                     0.5361706018447876]  # classes 0-4, 6-11 (5 masked)
CLEAN_AFTER_FILTER = [0.6582173476678119, 0.43232610504263136,
                      0.7386954818174915, 0.2468828557063851,
                      0.5586767961012957, 0.0, 0.5089749854743829, 0.0,
                      0.45394245942491557, 0.47106387764282504,
                      0.7102413715393254, 0.7479348919054801]


def test_pooled_ap_equals_biam_compute_ap_raw():
    np.testing.assert_allclose(biam_pooled_ap(SCORES, TARGETS), RAW_POOLED,
                               atol=1e-6)
    # the negative-only class 7 gets a nonzero "AP": the pooled quirk
    assert biam_pooled_ap(SCORES, TARGETS)[7] == pytest.approx(0.37739277,
                                                               abs=1e-6)


def test_sparse_pooled_ap_ignores_entry_order():
    rows, cols = np.nonzero(TARGETS != -1)
    perm = np.random.default_rng(0).permutation(rows.size)
    ap = biam_pooled_ap_sparse(rows[perm], cols[perm],
                               SCORES[rows, cols][perm],
                               TARGETS[rows, cols][perm], 12)
    np.testing.assert_allclose(ap, RAW_POOLED, atol=1e-6)


def test_gzsl_setting_biam_pooled():
    out = openimages_metrics(SCORES, TARGETS, topk=(3, 5), setting='gzsl',
                             ap='biam_pooled')
    assert out['num_images'] == 48 - 6  # 42 images with a positive
    assert out['num_classes'] == 11  # class 5 (all unknown) masked out
    assert out['mAP'] == pytest.approx(100 * 0.45519790053367615, abs=TOL)
    assert out['weighted_mAP'] == pytest.approx(100 * 0.46157190203666687,
                                                abs=TOL)
    per = out['per_class_AP']
    assert np.isnan(per[5])
    np.testing.assert_allclose(np.delete(per, 5),
                               100 * np.array(SEEN_STYLE_POOLED), atol=TOL)
    # GZSL F1 on all columns (lines 312-337)
    assert out['F1@3'] == pytest.approx(100 * 0.26829269528388977, abs=TOL)
    assert out['P@3'] == pytest.approx(100 * 0.261904776096344, abs=TOL)
    assert out['R@3'] == pytest.approx(100 * 0.2750000059604645, abs=TOL)
    assert out['F1@5'] == pytest.approx(100 * 0.30909091234207153, abs=TOL)


def test_seen_setting_f1_on_masked_columns():
    out = openimages_metrics(SCORES, TARGETS, topk=(3, 5), setting='seen',
                             ap='biam_pooled')
    assert out['mAP'] == pytest.approx(100 * 0.45519790053367615, abs=TOL)
    assert out['F1@3'] == pytest.approx(100 * 0.27642276883125305, abs=TOL)
    assert out['P@3'] == pytest.approx(100 * 0.2698412835597992, abs=TOL)
    assert out['R@3'] == pytest.approx(100 * 0.28333333134651184, abs=TOL)
    assert out['F1@5'] == pytest.approx(100 * 0.3333333730697632, abs=TOL)
    assert out['R@5'] == pytest.approx(100 * 0.4583333432674408, abs=TOL)


def test_zsl_setting_has_no_class_mask():
    out = openimages_metrics(SCORES, TARGETS, topk=(3, 5), setting='zsl',
                             ap='biam_pooled')
    assert out['num_classes'] == 12 and out['per_class_AP'][5] == 0.0
    assert out['mAP'] == pytest.approx(100 * 0.4172647297382355, abs=TOL)
    unseen = openimages_metrics(SCORES[:, 4:], TARGETS[:, 4:], topk=(3, 5),
                                setting='zsl', ap='biam_pooled')
    assert unseen['num_images'] == 37
    assert unseen['mAP'] == pytest.approx(100 * 0.4992247521877289, abs=TOL)
    assert unseen['weighted_mAP'] == pytest.approx(100 * 0.5767401456832886,
                                                   abs=TOL)
    assert unseen['F1@3'] == pytest.approx(100 * 0.3085106313228607, abs=TOL)
    assert unseen['F1@5'] == pytest.approx(100 * 0.3664121925830841, abs=TOL)
    assert unseen['P@5'] == pytest.approx(100 * 0.2594594657421112, abs=TOL)


def test_per_class_ap_option_is_the_true_per_class_ap():
    out = openimages_metrics(SCORES, TARGETS, topk=(3, ), setting='zsl')
    np.testing.assert_allclose(out['per_class_AP'],
                               100 * np.array(CLEAN_AFTER_FILTER), atol=1e-9)
    assert out['mAP'] == pytest.approx(100 * np.mean(CLEAN_AFTER_FILTER))
    gzsl = openimages_metrics(SCORES, TARGETS, topk=(3, ), setting='gzsl')
    kept = np.delete(CLEAN_AFTER_FILTER, 5)  # class 5 masked, 7 counts 0
    assert gzsl['mAP'] == pytest.approx(100 * np.mean(kept))


def test_bad_options():
    with pytest.raises(ValueError, match='setting'):
        openimages_metrics(SCORES, TARGETS, setting='unseen')
    with pytest.raises(ValueError, match='ap must be'):
        openimages_metrics(SCORES, TARGETS, ap='sklearn')
