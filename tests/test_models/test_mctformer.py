"""MCTformer-V2: the ViT with class tokens (shapes, position embedding, DeiT weight loading), the
head's losses against a dense formulation, and the attention fusion / refinement by hand."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_hfpl.losses.functional import (gap_bce_loss, importance_sampling_loss, max_norm,
                                          pairwise_feature_similarity)
from mmseg_hfpl.models.backbones.mct_vit import convert_deit_state_dict
from mmseg_hfpl.models.segmentors.mctformer import (fused_class_attention,
                                                    head_averaged_attention, min_max_normalise,
                                                    patch_affinity_refine)

TINY = dict(type='MCTViT', img_size=64, patch_size=16, embed_dims=32, num_layers=4, num_heads=2,
            drop_path_rate=0.0, num_cls_tokens=3)


def tiny_model(add_on=None):
    head = dict(type='MCTformerHead', in_channels=32, channels=32, in_index=0, num_classes=4,
                add_on=add_on)
    return MODELS.build(dict(
        type='MCTformerSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.]),
        backbone=TINY, decode_head=head, cam_layers=3, test_cfg=dict(bg_threshold=0.4)))


def samples(labels):
    out = []
    for lab in labels:
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.zeros(1, 64, 64, dtype=torch.long))
        s.gt_img_label = torch.tensor(lab, dtype=torch.float32)
        out.append(s)
    return out


# --------------------------------------------------------------------------- backbone
def test_backbone_outputs_tokens_patch_map_and_every_attention():
    torch.manual_seed(0)
    vit = MODELS.build(TINY).eval()
    patch_map, cls_tokens, attns = vit(torch.randn(2, 3, 64, 64))
    assert patch_map.shape == (2, 32, 4, 4) and cls_tokens.shape == (2, 3, 32)
    assert len(attns) == 4 and all(a.shape == (2, 2, 19, 19) for a in attns)
    assert torch.allclose(attns[0].sum(-1), torch.ones(2, 2, 19))  # softmax rows
    # other sizes: the patch grid follows the input (sides truncated to whole patches)
    patch_map, _, attns = vit(torch.randn(1, 3, 50, 90))
    assert patch_map.shape == (1, 32, 3, 5) and attns[-1].shape == (1, 2, 18, 18)
    with pytest.raises(ValueError, match='smaller than one 16-pixel patch'):
        vit(torch.randn(1, 3, 12, 64))


def test_position_embedding_resize_matches_the_official_scale_factor():
    torch.manual_seed(0)
    vit = MODELS.build(TINY)
    assert vit.resized_pos_embed(4, 4) is vit.pos_embed
    pos = vit.resized_pos_embed(3, 5)
    assert pos.shape == (1, 3 + 15, 32)
    assert torch.equal(pos[:, :3], vit.pos_embed[:, :3])  # class positions untouched
    grid = vit.pos_embed[:, 3:].reshape(1, 4, 4, 32).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, scale_factor=(3.1 / 4, 5.1 / 4), mode='bicubic')
    assert torch.allclose(pos[:, 3:], ref.permute(0, 2, 3, 1).reshape(1, 15, 32))


def deit_state_dict(dim=32, grid=4, layers=4):
    """A DeiT-shaped checkpoint (one class token, ImageNet head, final norm)."""
    torch.manual_seed(1)
    sd = {'cls_token': torch.randn(1, 1, dim), 'pos_embed': torch.randn(1, 1 + grid * grid, dim),
          'patch_embed.proj.weight': torch.randn(dim, 3, 16, 16),
          'patch_embed.proj.bias': torch.randn(dim), 'norm.weight': torch.randn(dim),
          'norm.bias': torch.randn(dim), 'head.weight': torch.randn(1000, dim),
          'head.bias': torch.randn(1000)}
    for i in range(layers):
        p = f'blocks.{i}.'
        sd.update({p + 'norm1.weight': torch.randn(dim), p + 'norm1.bias': torch.randn(dim),
                   p + 'attn.qkv.weight': torch.randn(3 * dim, dim),
                   p + 'attn.qkv.bias': torch.randn(3 * dim),
                   p + 'attn.proj.weight': torch.randn(dim, dim),
                   p + 'attn.proj.bias': torch.randn(dim), p + 'norm2.weight': torch.randn(dim),
                   p + 'norm2.bias': torch.randn(dim),
                   p + 'mlp.fc1.weight': torch.randn(4 * dim, dim),
                   p + 'mlp.fc1.bias': torch.randn(4 * dim),
                   p + 'mlp.fc2.weight': torch.randn(dim, 4 * dim),
                   p + 'mlp.fc2.bias': torch.randn(dim)})
    return sd


def test_pretrained_deit_checkpoint_loads_with_the_class_token_repeated(tmp_path):
    sd = deit_state_dict()
    path = tmp_path / 'deit.pth'
    torch.save({'model': sd}, path)  # DeiT's release format
    vit = MODELS.build(dict(TINY, init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    vit.init_weights()
    for k in range(3):  # every class token and its position = DeiT's single ones
        assert torch.equal(vit.cls_token[0, k], sd['cls_token'][0, 0])
        assert torch.equal(vit.pos_embed[0, k], sd['pos_embed'][0, 0])
    assert torch.equal(vit.pos_embed[0, 3:], sd['pos_embed'][0, 1:])  # same 4x4 grid
    own = vit.state_dict()
    for name in ('patch_embed.proj.weight', 'blocks.3.attn.qkv.weight', 'blocks.2.mlp.fc2.bias'):
        assert torch.equal(own[name], sd[name]), name
    assert not any(k.startswith(('norm.', 'head.')) for k in own)  # V2 has no final norm


def test_checkpoint_conversion_resizes_the_patch_grid_and_rejects_odd_token_counts():
    sd = deit_state_dict(grid=2)
    out = convert_deit_state_dict(sd, num_cls_tokens=3, grid=(4, 4))
    assert out['cls_token'].shape == (1, 3, 32) and out['pos_embed'].shape == (1, 3 + 16, 32)
    grid = sd['pos_embed'][:, 1:].reshape(1, 2, 2, 32).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, size=(4, 4), mode='bicubic', align_corners=False)
    assert torch.allclose(out['pos_embed'][:, 3:], ref.permute(0, 2, 3, 1).reshape(1, 16, 32))
    assert 'head.weight' not in out and 'norm.weight' not in out
    assert 'norm.weight' in convert_deit_state_dict(sd, 3, (2, 2), keep_norm=True)
    sd['cls_token'] = torch.zeros(1, 2, 32)
    with pytest.raises(ValueError, match='cls_token has 2 tokens'):
        convert_deit_state_dict(sd, num_cls_tokens=3, grid=(2, 2))


# --------------------------------------------------------------------------- head and losses
def test_head_losses_equal_the_official_soft_margin_terms_and_gradients():
    torch.manual_seed(0)
    model = tiny_model().train()
    inputs = torch.randn(2, 3, 64, 64)
    labels = [[1, 0, 1], [0, 1, 0]]
    losses = model.loss(inputs, samples(labels))
    assert set(losses) == {'decode.loss_gap', 'decode.loss_cls_token', 'decode.acc_cls'}
    # the official train_one_epoch, written out densely
    patch_map, cls_tokens, _ = model.extract_feat(inputs)
    target = torch.tensor(labels, dtype=torch.float32)
    patch_logits = F.adaptive_avg_pool2d(model.decode_head.conv_seg(patch_map), 1).flatten(1)
    ref_pat = F.multilabel_soft_margin_loss(patch_logits, target)
    ref_cls = F.multilabel_soft_margin_loss(cls_tokens.mean(-1), target)
    assert torch.allclose(losses['decode.loss_gap'], ref_pat, atol=1e-6)
    assert torch.allclose(losses['decode.loss_cls_token'], ref_cls, atol=1e-6)
    weight = model.decode_head.conv_seg.weight
    g = torch.autograd.grad(losses['decode.loss_gap'] + losses['decode.loss_cls_token'],
                            [weight, model.backbone.cls_token])
    g_ref = torch.autograd.grad(ref_pat + ref_cls, [weight, model.backbone.cls_token])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g, g_ref))
    assert g[1].abs().sum() > 0  # the class tokens are trained through their logits
    assert model.decode_head.conv_seg.kernel_size == (3, 3)
    assert model.decode_head.conv_seg.bias is not None


def test_hfpl_add_on_acts_on_the_patch_cam_upsampled_x4():
    torch.manual_seed(0)
    model = tiny_model(dict(
        isl=dict(lam=0.1, num_samples=10),
        fsl=dict(weight=0.1, gating='max_norm', subtract_min=True, upsample_factor=4))).train()
    inputs = torch.rand(2, 3, 64, 64) * 255  # identity normalisation: RGB = inputs / 255
    labels = [[1, 0, 1], [0, 1, 0]]
    torch.manual_seed(3)  # the ISL draws
    losses = model.loss(inputs, samples(labels))
    assert {'decode.loss_isl', 'decode.loss_fsl'} <= set(losses)
    # FSL = 0.1 x eq. 9 on [1 - max, r] of the 4x4 patch CAM up-sampled to 16x16
    patch_cam = model.decode_head.forward(model.extract_feat(inputs))
    up = F.interpolate(patch_cam, size=(16, 16), mode='bilinear', align_corners=False)
    r = max_norm(up, subtract_min=True) * torch.tensor(labels, dtype=torch.float32)[..., None,
                                                                                    None]
    gated = torch.cat([1 - r.max(dim=1, keepdim=True)[0], r], dim=1)
    small = F.interpolate(inputs / 255, size=(16, 16), mode='bilinear', align_corners=True)
    ref = 0.1 * pairwise_feature_similarity(small, gated, 2.5, 5.0)
    assert torch.allclose(losses['decode.loss_fsl'], ref, atol=1e-6)
    # ISL = 0.1 x eqs. 14-18 on the (not up-sampled) patch CAM logits, with the same draws
    torch.manual_seed(3)
    ref_isl = 0.1 * importance_sampling_loss(patch_cam, torch.tensor(labels).float(), 10)
    assert torch.allclose(losses['decode.loss_isl'], ref_isl, atol=1e-6)
    # eq. 16: the patch GAP loss x (1 - 0.1); the class-token loss unchanged
    label = torch.tensor(labels).float()
    torch.testing.assert_close(losses['decode.loss_gap'], 0.9 * gap_bce_loss(patch_cam, label))
    cls_logits = model.extract_feat(inputs)[1].mean(-1)
    torch.testing.assert_close(losses['decode.loss_cls_token'],
                               gap_bce_loss(cls_logits[..., None, None], label))


def test_head_rejects_inputs_that_are_not_the_backbone_triple():
    model = tiny_model().train()
    with pytest.raises(ValueError, match='patch_map, cls_tokens, attentions'):
        model.decode_head.loss([torch.zeros(1, 32, 4, 4)], samples([[1, 0, 0]]), None)


# --------------------------------------------------------------------------- V2 inference
def hand_attention():
    """(L=2, B=1, heads=2, N=6, N): 2 class tokens + 2x2 patches; the head average is known."""
    attn = torch.zeros(2, 6, 6)
    attn[1, 0, 2:] = torch.tensor([0.1, 0.2, 0.3, 0.4])  # last block, class 0 -> patches
    attn[1, 1, 2:] = torch.tensor([0.4, 0.3, 0.2, 0.1])
    attn[0, 0, 2:] = torch.tensor([0.5, 0.0, 0.0, 0.5])
    attn[0, 1, 2:] = torch.tensor([0.0, 0.5, 0.5, 0.0])
    attn[1, 2:, 2:] = torch.tensor([[1., 0, 0, 0], [.5, .5, 0, 0], [0, 0, 0, 1.],
                                    [.25, .25, .25, .25]])
    # two heads that average to attn: +d and -d
    d = torch.full((6, 6), 0.05)
    return [torch.stack([a + d, a - d])[None] for a in attn]  # per block (1, 2, 6, 6)


def test_fusion_of_class_attention_and_patch_cam_by_hand():
    attention = head_averaged_attention(hand_attention())
    assert attention.shape == (2, 1, 6, 6)
    patch_cam = torch.tensor([[[[1., -1.], [2., 0.]], [[0., 3.], [-2., 1.]]]])
    last = fused_class_attention(patch_cam, attention, num_layers=1)
    assert torch.allclose(last, torch.tensor([[[[0.1, 0.], [0.6, 0.]], [[0., 0.9], [0., 0.1]]]]))
    both = fused_class_attention(patch_cam, attention, num_layers=2)  # attention summed
    assert torch.allclose(both, torch.tensor([[[[0.6, 0.], [0.6, 0.]], [[0., 2.4], [0., 0.1]]]]))
    with pytest.raises(ValueError, match='num_layers'):
        fused_class_attention(patch_cam, attention, num_layers=3)
    with pytest.raises(ValueError, match='attention must be'):
        fused_class_attention(patch_cam[:, :1], attention, num_layers=1)


def test_patch_attention_refinement_and_min_max_by_hand():
    attention = head_averaged_attention(hand_attention())
    cams = torch.tensor([[[[0.1, 0.], [0.6, 0.]], [[0., 0.9], [0., 0.1]]]])
    refined = patch_affinity_refine(cams, attention[:, :, 2:, 2:].sum(0))  # rows = queries
    expected = torch.tensor([[[[0.1, 0.05], [0., 0.175]], [[0., 0.45], [0.1, 0.25]]]])
    assert torch.allclose(refined, expected)
    norm = min_max_normalise(expected)
    assert torch.allclose(norm, torch.tensor([[[[0.1 / 0.175, 0.05 / 0.175], [0., 1.]],
                                               [[0., 1.], [0.1 / 0.45, 0.25 / 0.45]]]]))
    with pytest.raises(ValueError, match='patch_attention must be'):
        patch_affinity_refine(cams, torch.zeros(1, 3, 3))


def test_cam_scores_equal_the_official_v2_inference():
    torch.manual_seed(0)
    model = tiny_model().eval().double()  # float64: min-max magnifies rounding differences
    inputs = torch.randn(1, 3, 48, 80, dtype=torch.float64)
    with torch.no_grad():
        scores = model.cam_scores(inputs, [dict(img_shape=(48, 80))])
        # MCTformerV2.forward(return_att=True, n_layers=3) + generate_attention_maps_ms
        patch_map, _, attns = model.extract_feat(inputs)
        x_patch = model.decode_head.conv_seg(patch_map)
        w = torch.stack(attns).mean(dim=2)
        n, c, h, wd = x_patch.shape
        mtatt = w[-3:].sum(0)[:, 0:c, c:].reshape([n, c, h, wd])
        cams = mtatt * F.relu(x_patch)
        patch_attn = torch.sum(w[:, :, c:, c:], dim=0)
        cams = torch.matmul(patch_attn.unsqueeze(1), cams.view(n, c, -1, 1)).reshape(n, c, h, wd)
        cams = F.interpolate(cams, size=(48, 80), mode='bilinear', align_corners=False)
        flat = cams.flatten(2)
        low, high = flat.min(2)[0][..., None, None], flat.max(2)[0][..., None, None]
        ref = (cams - low) / (high - low + 1e-8)
    assert scores.shape == (1, 3, 48, 80)
    assert torch.allclose(scores, ref, atol=1e-10)
    assert torch.allclose(scores.flatten(2).amax(2), torch.ones(1, 3, dtype=torch.float64),
                          atol=1e-4)  # (max - min) / (max - min + 1e-8)
    # predict -> [background threshold, labelled CAMs] as every CAMSegmentor
    out = model.float().predict(torch.randn(1, 3, 64, 64), samples([[0, 1, 0]]))[0]
    assert out.seg_logits.data.shape == (4, 64, 64)
    assert torch.all(out.seg_logits.data[0] == 0.4) and torch.all(out.seg_logits.data[[1, 3]] == 0)
