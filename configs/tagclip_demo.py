# TagCLIP's training-free scores on the synthetic proving-ground world (CPU,
# seconds): the tiny world CLIP, ZSL and GZSL in one test pass (ZSL scored in
# a pass of its own, TagCLIP's softmax running over the unseen classes only).
# Build the data and the world's tiny CLIP first (`make demo`, or:
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_clip_demo.py)
#   python tools/test.py configs/tagclip_demo.py none
# Without data/demo/tiny_clip.pt the tools stop ("run `make demo` first");
# --clip-checkpoint random runs every path on a random tower (and says so).
# The tiny tower has 2 blocks: the attention affinity averages block 0 and
# one block's vote suffices (defaults scaled from ViT-B/16's 8..10 and 4).
# No background words: the world's captions name none of TagCLIP's.
_base_ = ['clip_zeroshot_demo.py']

model = dict(score_mode='tagclip', tagclip=dict(background='none'))
