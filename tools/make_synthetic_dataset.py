"""Write the embedded synthetic WSSS dataset in VOC layout (deterministic for a seed)."""
import argparse

from mmseg_hfpl.datasets import make_synthetic_voc
from mmseg_hfpl.engine.process_exit import skip_exit_collection


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out_dir', nargs='?', default='data/synthetic_voc')
    parser.add_argument('--num-train', type=int, default=240)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--size', type=int, default=128, help='image height and width')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='allow writing into a non-empty directory that is not a synthetic '
                        'dataset')
    args = parser.parse_args()
    sizes = make_synthetic_voc(args.out_dir, args.num_train, args.num_val, args.size, args.size,
                               args.seed, overwrite=args.overwrite)
    print(f'wrote {args.out_dir}: ' + ', '.join(f'{k} {v}' for k, v in sizes.items()))


if __name__ == '__main__':
    skip_exit_collection()
    main()
