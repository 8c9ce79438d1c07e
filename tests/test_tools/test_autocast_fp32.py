"""Under mixed precision (``--amp``: autocast; here CPU bf16) the hfpl losses, the test-time CRF
and the random walk compute in fp32: their results under autocast equal those without it."""
import pytest
import torch

from mmseg_hfpl.losses.feature_similarity_loss import FeatureSimilarityLoss
from mmseg_hfpl.losses.importance_sampling_loss import ImportanceSamplingLoss
from mmseg_hfpl.pseudo_labels.random_walk import neighbour_pairs, random_walk


def autocast():
    return torch.autocast('cpu', dtype=torch.bfloat16)


def test_fsl_is_fp32_under_autocast():
    gen = torch.Generator().manual_seed(0)
    score = torch.randn(2, 3, 8, 8, generator=gen)
    label = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    image = torch.rand(2, 3, 32, 32, generator=gen)
    loss = FeatureSimilarityLoss(gating='max_norm', subtract_min=True, with_background=True)
    ref = loss(score, label, image=image)
    with autocast():
        # the network's output under autocast is bf16; the loss casts it to fp32 and runs
        # without autocast: the same value as fp32 on the same (bf16-rounded) scores
        out = loss(score.bfloat16(), label, image=image)
        assert out.dtype == torch.float32
    torch.testing.assert_close(out, loss(score.bfloat16().float(), label, image=image),
                               rtol=0, atol=0)
    assert out.item() == pytest.approx(ref.item(), rel=5e-2)




@pytest.mark.parametrize('posterior', ['binomial', 'multinomial'])
def test_isl_is_fp32_under_autocast(posterior):
    """ImportanceSamplingLoss casts to fp32 without autocast (as FeatureSimilarityLoss): the
    same draws and value as outside it (unguarded, bf16 gave 0.9480 for 0.9524)."""
    score = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)).bfloat16()
    label = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    loss = ImportanceSamplingLoss(num_samples=10, posterior=posterior)
    torch.manual_seed(1)  # the same pixel draws
    ref = loss(score.float(), label)
    with autocast():
        torch.manual_seed(1)
        out = loss(score, label)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-7)


def test_random_walk_is_fp32_under_autocast():
    """random_walk runs its sparse products in fp32 without autocast (CPU torch has no bf16
    sparse kernel: "addmm_out_sparse_csr_impl_mkl"), bit-equal to the walk outside it."""
    gen = torch.Generator().manual_seed(0)
    pairs = neighbour_pairs(6, 7, 3)
    values = torch.rand(pairs.shape[1], generator=gen)
    seeds = torch.rand(3, 42, generator=gen)
    ref = random_walk(pairs, values, 42, seeds, beta=8, logt=3)
    with autocast():
        out = random_walk(pairs, values, 42, seeds, beta=8, logt=3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_test_time_crf_takes_bf16_logits_under_autocast(tmp_path):
    """A segmentor tested under --amp yields bf16 ``seg_logits``; DenseCRFPostProcessor takes
    their softmax in fp32 (numpy has no bf16) and gives the marginals of the fp32 logits of the
    same values. (The CRF itself is numpy / pydensecrf code, which autocast cannot reach: a test
    that it is "unaffected by autocast" could not fail, and is gone.)"""
    from mmseg_hfpl.models.segmentors.dense_crf import DenseCRFPostProcessor
    from ..test_models.test_crf_postprocess import PassThrough, random_image, sample
    random_image(tmp_path / 'a.png', h=12, w=16)
    logits = (torch.randn(3, 12, 16, generator=torch.Generator().manual_seed(0)) * 3).bfloat16()
    crf = DenseCRFPostProcessor(PassThrough(), crf=dict(iterations=2))
    ref = crf.refine([sample(logits.float(), str(tmp_path / 'a.png'))])[0]
    with autocast():
        out = crf.refine([sample(logits, str(tmp_path / 'a.png'))])[0]
    assert out.seg_logits.data.dtype == torch.float32
    torch.testing.assert_close(out.seg_logits.data, ref.seg_logits.data, rtol=0, atol=0)
    assert torch.equal(out.pred_sem_seg.data, ref.pred_sem_seg.data)
