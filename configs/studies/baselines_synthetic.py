# The other baselines with and without the add-on, as CPU twins on the embedded dataset:
#   python tools/run_experiments.py configs/studies/baselines_synthetic.py
# J, F, J&F of each model's own pseudo-labels of the 240 training images at the end of training
# (SIPE: argmax with its background map; MCTformer: threshold 0.39 on the fused maps). Every
# twin is trained from scratch on 5 classes, so these numbers check that each baseline learns
# and how the add-on moves it here; they say nothing about VOC. (The Spatial-BCE twin is not
# listed: trained from scratch, its scores saturate to 0 within ~20 iterations; see README.)
seeds = [0, 1, 2]
experiments = [
    dict(name='SIPE', config='configs/sipe/sipe_r18tiny_synthetic.py'),
    dict(name='SIPE +ISL/FSL', config='configs/hfpl/sipe_synthetic.py'),
    dict(name='MCTformer V2', config='configs/mctformer/mctformer-v2_vit-tiny_synthetic.py'),
    dict(name='MCTformer V2 +ISL/FSL', config='configs/hfpl/mctformer_synthetic.py'),
]
