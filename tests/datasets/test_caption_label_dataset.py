"""TaI-DPT's training text: captions labelled by their words, plus prompts."""
import json

import pytest

from granzsl_mm.datasets import CaptionLabelDataset, PackTextInputs
from granzsl_mm.datasets.caption_label_dataset import class_synonym_lists
from granzsl_mm.datasets.caption_labels import CaptionLabeler
from granzsl_mm.structures.caption_synonyms import get_caption_synonyms
from granzsl_mm.structures.class_names import read_class_names

COCO = read_class_names('coco80').names


def names_of(labeler, caption, classes=COCO):
    labels = labeler.labels(caption)
    return None if labels is None else [
        c for c, v in zip(classes, labels) if v]


def test_reference_synonym_lists_resolve_our_class_names():
    synonyms = class_synonym_lists(COCO, 'coco')
    assert len(get_caption_synonyms('coco')) == 80
    assert len(get_caption_synonyms('voc')) == 20
    assert len(get_caption_synonyms('nuswide')) == 81
    by_name = dict(zip(COCO, synonyms))
    # 'airplane' is the reference's 'air plane' written without its space
    assert 'jet' in by_name['airplane'] and by_name['airplane'][0] == 'airplane'
    assert 'sofa' in by_name['couch'] and 'icebox' in by_name['refrigerator']
    assert class_synonym_lists(['zebra', 'unicorn'], 'coco') == [
        ['zebra'], ['unicorn']]
    assert class_synonym_lists(['a_b'], {'a b': ['c']}) == [['a b', 'c']]
    with pytest.raises(KeyError, match='caption synonym'):
        get_caption_synonyms('imagenet')


def test_caption_words_name_classes_as_the_reference_matches_them():
    labeler = CaptionLabeler(class_synonym_lists(COCO, 'coco'))
    # plural nouns lemmatized (WordNet rules and exceptions), synonyms
    assert names_of(labeler, 'Two men riding motorcycles past traffic '
                    'lights.') == ['person', 'motorcycle', 'traffic light']
    assert names_of(labeler, "A puppy's frisbee near knives and buses") == [
        'bus', 'dog', 'frisbee', 'knife']
    # a multi-word synonym is matched first and cut out: 'teddy bear' is
    # not a bear, 'hot dog' not a dog
    assert names_of(labeler, 'a woman holding a hot dog and a teddy bear') \
        == ['person', 'hot dog', 'teddy bear']
    # written without its space, a multi-word synonym still matches
    assert names_of(labeler, 'a trafficlight') == ['traffic light']
    # whole words only; a caption naming no class is dropped
    assert names_of(labeler, 'a catalogue of scattered things') is None
    assert names_of(labeler, 'glasses of wine') is None


def write_captions(path, captions):
    data = dict(images=[dict(id=1, file_name='a.jpg')],
                annotations=[dict(id=i, image_id=1, caption=c)
                             for i, c in enumerate(captions)])
    path.write_text(json.dumps(data))
    return str(path)


def test_dataset_reads_a_captions_file_and_adds_the_class_prompts(tmp_path):
    ann = write_captions(tmp_path / 'captions_train2014.json', [
        'A cat on a sofa.', 'An empty street.', 'Dogs chasing a cat'])
    classes = ['cat', 'dog', 'couch']
    dataset = CaptionLabelDataset(ann, class_names=classes, synonyms='coco',
                                  templates=['art of a {}.'])
    texts = [d['text'] for d in dataset]
    # two captions name classes; per class 9 + 1 prompts
    assert len(dataset) == 2 + 3 * 10
    assert texts[:2] == ['A cat on a sofa.', 'Dogs chasing a cat']
    assert dataset[0]['gt_score'] == [1., 0., 1.]
    assert dataset[0]['gt_label'] == [0, 2]
    assert texts[2:12] == ['a photo of a cat.'] * 9 + ['art of a cat.']
    assert dataset[12]['gt_score'] == [0., 1., 0.]
    assert dataset.metainfo['classes'] == tuple(classes)
    # the reference's 80 templates by default
    assert len(CaptionLabelDataset(ann, class_names=classes,
                                   synonyms='coco')) == 2 + 3 * 89


def test_unseen_classes_are_never_matched_and_stay_unknown(tmp_path):
    ann = write_captions(tmp_path / 'c.json', ['a cat and a dog',
                                               'a lonely dog'])
    # a seen / unseen split: only its seen classes are matched
    dataset = CaptionLabelDataset(ann, class_names=dict(
        seen=['cat', 'bird'], unseen=['dog']), template_copies=1,
        templates=())
    assert [d['text'] for d in dataset] == [
        'a cat and a dog', 'a photo of a cat.', 'a photo of a bird.']
    assert dataset[0]['gt_score'] == [1., 0., -1.]
    assert dataset.metainfo['unseen_classes'] == ('dog', )
    packed = PackTextInputs()(dict(dataset[0]))
    assert packed['inputs'] == 'a cat and a dog'
    assert packed['data_samples'].gt_score.tolist() == [1., 0., -1.]
    assert packed['data_samples'].gt_label.tolist() == [0]


def test_bad_files_are_refused(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(images=[])))
    with pytest.raises(ValueError, match='annotations'):
        CaptionLabelDataset(str(bad), class_names=['cat'])
    with pytest.raises(ValueError, match='num_trained_classes'):
        CaptionLabelDataset(str(bad), class_names=['cat'],
                            num_trained_classes=2)
    with pytest.raises(ValueError, match='one of them'):
        CaptionLabelDataset(str(bad))


def test_a_split_file_relative_to_the_data_root(tmp_path):
    write_captions(tmp_path / 'c.json', ['a dog', 'a cat'])
    (tmp_path / 'split.json').write_text(json.dumps(dict(
        seen=['dog'], unseen=['cat'])))
    dataset = CaptionLabelDataset('c.json', data_root=str(tmp_path),
                                  split_file='split.json', templates=(),
                                  template_copies=0)
    assert [d['gt_score'] for d in dataset] == [[1., -1.]]
    assert dataset.metainfo['classes'] == ('dog', 'cat')


def test_narratives_with_the_references_nuswide_limits(tmp_path):
    path = tmp_path / 'open_images_train_v6_captions.jsonl'
    captions = ['In this image I can see a dog and a cat.',
                'There is a dog.', 'A dog near a dog.', 'a cat',
                'nothing here', 'word ' * 80 + 'a cat at the very end']
    path.write_text('\n'.join(json.dumps(dict(image_id=str(i), caption=c))
                               for i, c in enumerate(captions)))
    dataset = CaptionLabelDataset(str(path), class_names=['dog', 'cat'],
                                  max_words=77, max_per_class=1,
                                  template_copies=0, templates=())
    # 'cat' is the rarer class (2 captions to 4): the first caption counts
    # for it; 'dog' keeps its first caption of its own; the last caption's
    # cat lies beyond 77 words
    assert [d['text'] for d in dataset] == [
        'There is a dog.', 'In this image I can see a dog and a cat.']
