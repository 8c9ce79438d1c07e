# CPU-sized MCTformer-V2 on the embedded dataset: a tiny ViT from scratch (embedding 64, 4 blocks,
# 4 heads, 16-pixel patches: a 7x7 patch CAM on the 112 crops, 5 class tokens), the demo's CPU
# schedule with AdamW as the full-size model (SGD at the demo's lr does not suit a ViT).
#   python tools/train.py configs/mctformer/mctformer-v2_vit-tiny_synthetic.py
_base_ = [
    '../_base_/models/mctformer_v2_deit-s.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py'
]
model = dict(
    data_preprocessor=dict(size=(112, 112)),
    backbone=dict(img_size=112, embed_dims=64, num_layers=4, num_heads=4, drop_path_rate=0.0,
                  num_cls_tokens=5, init_cfg=None),
    decode_head=dict(in_channels=64, channels=64, num_classes=6))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'cls_token': dict(decay_mult=0.0), 'pos_embed': dict(decay_mult=0.0)}))
pseudo_label_cfg = dict(scales=(1.0, ), flip=True, crf_alphas=(1, 12), affinity_labels=True)
