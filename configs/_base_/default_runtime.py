default_scope = 'mmseg'
custom_imports = dict(imports=['mmseg_hfpl'], allow_failed_imports=False)
# mmengine's Runner + NonFiniteLossHook among the default hooks: every training stops at its
# first NaN / Inf loss (naming the loss, iteration and lr) before a checkpoint of it is saved
runner_type = 'HFPLRunner'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py use gloo instead when CUDA is unavailable
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
