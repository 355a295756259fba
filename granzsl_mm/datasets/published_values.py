"""The published facts of the benchmarks, each with its source: released
split files (SHA-256 and size), class counts, image counts.

The one home of these values; :mod:`granzsl_mm.datasets.verification`
(``tools/misc/verify_dataset.py``) compares a dataset on disk with them.
A checksum we could not compute from a copy of the released file is None,
with the reason in ``note``: it is reported, never guessed.

Where the values come from:

* checksums of ``cls_ids.pickle``, ``Concepts81.txt`` and ``TagList1k.txt``:
  computed from the released files (the COCO split as distributed with the
  GranZSL and DualCoOp code; NUS-WIDE's official lists, byte-identical to
  the copies in BiAM's repository, commit ``4e391f1``);
* checksums of the Open Images split files: computed from BiAM's
  repository (github.com/akshitac8/BiAM, ``datasets/OpenImages/2018_04/``,
  commit ``4e391f1``);
* image counts: the datasets' official releases, as cited per value.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

__all__ = ['ReleasedFile', 'PublishedCount', 'Benchmark', 'BENCHMARKS',
           'NO_COPY']

NO_COPY = 'not checked here: no copy available'

_BIAM = 'github.com/akshitac8/BiAM, commit 4e391f1'
_COCO_COUNTS = ('COCO 2014 release (cocodataset.org); count as listed by '
                'the FiftyOne dataset zoo, docs.voxel51.com/dataset_zoo/'
                'datasets/coco_2014.html')
_NUS_COUNTS = ('NUS-WIDE official release (lms.comp.nus.edu.sg, '
               'NUS-WIDE.html); README of github.com/NExTplusplus/NUS-WIDE')


@dataclass(frozen=True)
class ReleasedFile:
    """A file released with a benchmark.

    Args:
        name: Its file name (as the readers look it up).
        sha256: Hex digest of the released bytes, or None (see ``note``).
        size: Its size in bytes, or None.
        source: Where the file and the digest come from.
        note: Why there is no digest.
    """

    name: str
    sha256: Optional[str]
    size: Optional[int]
    source: str
    note: str = ''


@dataclass(frozen=True)
class PublishedCount:
    """A published count and its source."""

    value: int
    source: str


@dataclass(frozen=True)
class Benchmark:
    """What is published about one benchmark.

    Args:
        title: Its name.
        seen: Seen class count.
        unseen: Unseen class count.
        unseen_all: Unseen class count when every candidate is used (Open
            Images ``unseen='all'``), or None.
        files: Released split / label files.
        image_folders: Image folder name -> its published image count.
        list_files: Official image list file -> its published line count.
    """

    title: str
    seen: PublishedCount
    unseen: PublishedCount
    unseen_all: Optional[PublishedCount] = None
    files: Tuple[ReleasedFile, ...] = ()
    image_folders: Dict[str, PublishedCount] = field(default_factory=dict)
    list_files: Dict[str, PublishedCount] = field(default_factory=dict)


BENCHMARKS: Dict[str, Benchmark] = {
    'coco_48_17': Benchmark(
        title='MS-COCO 2014, 48 seen / 17 unseen',
        seen=PublishedCount(48, 'Bansal et al., ECCV 2018 (the split of '
                            'cls_ids.pickle); docs/datasets.md'),
        unseen=PublishedCount(17, 'Bansal et al., ECCV 2018 (the split of '
                              'cls_ids.pickle); docs/datasets.md'),
        files=(
            ReleasedFile(
                'cls_ids.pickle',
                '6bded8853e8993c1159438d1c84add6e1c501dcea576fb7fe0b142546c'
                '6282c5', 177,
                'the released split file (GranZSL / DualCoOp code), digest '
                'of its bytes'),
            ReleasedFile('instances_val2014_gzsi_48_17.json', None, None,
                         'GranZSL / BiAM / MKT releases', NO_COPY),
            ReleasedFile('instances_val2014_unseen_48_17.json', None, None,
                         'GranZSL / BiAM / MKT releases', NO_COPY),
        ),
        image_folders={'val2014': PublishedCount(40504, _COCO_COUNTS),
                       'train2014': PublishedCount(82783, _COCO_COUNTS)}),
    'nuswide_925_81': Benchmark(
        title='NUS-WIDE, 925 seen tags / 81 unseen concepts',
        seen=PublishedCount(925, 'TagList1k.txt minus the 75 tags among '
                            'the concepts (Zhang et al., CVPR 2016; LESA); '
                            'docs/datasets.md'),
        unseen=PublishedCount(81, 'Concepts81.txt (official); '
                              'docs/datasets.md'),
        files=(
            ReleasedFile(
                'Concepts81.txt',
                '439aff2804e6104a53b7f9e4a7d634ed6e6303733d8a482260b240769a'
                'e9bf42', 612,
                'NUS-WIDE official ConceptsList; same bytes in '
                f'{_BIAM} datasets/NUS-WIDE/ConceptsList/'),
            ReleasedFile(
                'TagList1k.txt',
                'fc676bfd97f4319a227b0ccf2996b76d7403fc180ff529e6851d53c029'
                '97670b', 8121,
                'NUS-WIDE official NUS_WID_Tags; same bytes in '
                f'{_BIAM} datasets/NUS-WIDE/NUS_WID_Tags/'),
            ReleasedFile('test_seen_labels.pkl', None, None,
                         'GranZSL / BiAM releases', NO_COPY),
            ReleasedFile('test_unseen_labels.pkl', None, None,
                         'GranZSL / BiAM releases', NO_COPY),
        ),
        list_files={
            'Imagelist.txt': PublishedCount(269648, _NUS_COUNTS),
            'TrainImagelist.txt': PublishedCount(161789, _NUS_COUNTS),
            'TestImagelist.txt': PublishedCount(
                107859, _NUS_COUNTS + '; BiAM test_img_names.pkl holds '
                '107,859 names (counted here)'),
        }),
    'openimages_7186_400': Benchmark(
        title='Open Images v4, 7,186 seen / 400 unseen',
        seen=PublishedCount(7186, 'classes-trainable.txt (LESA, BiAM); '
                            'docs/datasets.md'),
        unseen=PublishedCount(400, 'top_400_unseen.csv (LESA, BiAM); '
                              'docs/datasets.md'),
        unseen_all=PublishedCount(2594, f'unseen_labels.pkl of {_BIAM} '
                                  '(counted here); docs/datasets.md'),
        files=(
            ReleasedFile(
                'classes-trainable.txt',
                '07284fc58eae2c080fa26484cb523c562e27b5ba5958d31f2b0c30af69'
                '4f4598', 71460,
                f'{_BIAM} datasets/OpenImages/2018_04/'),
            ReleasedFile(
                'top_400_unseen.csv',
                'cc9c8c78bb3fdc465bc5ec1c41f2eb59aa93345b890ad31027b9d6848e'
                '9453ff', 2187,
                f'{_BIAM} datasets/OpenImages/2018_04/'),
            ReleasedFile(
                'unseen_labels.pkl',
                'ae47468824f22deab1ea59a00d259fa043c66a544a0cca8b75f1d90e95'
                '960d56', 48847,
                f'{_BIAM} datasets/OpenImages/2018_04/'),
            ReleasedFile(
                'class-descriptions.csv',
                '6301d51a91632a2199060d3a0c8cd70904c95863f6867a5a7c4d24a031'
                'ee4062', 475854,
                f'official v4 (2018_04); copy in {_BIAM} '
                'datasets/OpenImages/2018_04/'),
        ),
        image_folders={'test': PublishedCount(
            125436, f'{_BIAM} paper_logs/openimages.log ("total TEST '
            'samples 125436")')}),
}
