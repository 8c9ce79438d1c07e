"""Convert the ImageNet ResNet-38 weights of PSA / SEAM / hfpl from MXNet to PyTorch.

    python tools/convert_resnet38_mxnet.py \
        pretrain/ilsvrc-cls_rna-a1_cls1000_ep-0001.params pretrain/resnet38d_ilsvrc.pth

Reads the MXNet NDArray file directly (no MXNet needed), renames every array to the
``ResNet38d`` backbone's parameter names, checks names and shapes against the backbone
(``--base-channels`` for a narrow copy), drops the ImageNet classifier and saves a state dict that
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` of the backbone loads.
"""
import argparse
import os.path as osp

import torch

from mmseg_hfpl.engine.process_exit import skip_exit_collection
from mmseg_hfpl.fileio import atomic_path
from mmseg_hfpl.models.backbones.mxnet_params import load_mxnet_params, resnet38_state_dict
from mmseg_hfpl.models.backbones.resnet38d import ResNet38d


def convert(src: str, dst: str, base_channels: int = 64, overwrite: bool = False) -> dict:
    if osp.exists(dst) and not overwrite:
        raise FileExistsError(f'{dst} exists; pass --overwrite to replace it')
    state = resnet38_state_dict(load_mxnet_params(src))
    expected = {k: v for k, v in ResNet38d(base_channels=base_channels).state_dict().items()
                if not k.endswith('num_batches_tracked')}
    unknown = sorted(set(state) - set(expected))
    missing = sorted(set(expected) - set(state))
    if unknown or missing:
        raise KeyError(f'{src} does not match ResNet38d(base_channels={base_channels}): '
                       f'missing {missing[:5]}{"..." if len(missing) > 5 else ""}, '
                       f'unexpected {unknown[:5]}{"..." if len(unknown) > 5 else ""}')
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise ValueError(f'{src}: {key} has shape {tuple(value.shape)}, ResNet38d expects '
                             f'{tuple(expected[key].shape)}')
    with atomic_path(osp.abspath(dst)) as tmp:  # no truncated or temporary file on failure
        torch.save(state, tmp)
    return state


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='MXNet .params file')
    parser.add_argument('dst', help='output .pth (state dict of the ResNet38d backbone)')
    parser.add_argument('--base-channels', type=int, default=64)
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args()
    state = convert(args.src, args.dst, args.base_channels, args.overwrite)
    count = sum(v.numel() for v in state.values())
    print(f'wrote {args.dst}: {len(state)} tensors, {count / 1e6:.1f} M values')


if __name__ == '__main__':
    skip_exit_collection()
    main()
