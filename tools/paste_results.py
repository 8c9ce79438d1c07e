"""Paste committed runner outputs into README.md, so that no number there is typed by hand.

    python tools/paste_results.py [README.md]

Every README block ``<!-- results: PATH -->`` ... ``<!-- end results -->`` is replaced by the
current text of ``PATH`` (a ``results.md`` / ``pseudo_labels.md`` written by
``tools/run_experiments.py``); ``tests/test_readme.py`` checks that each block equals its file.
"""
import os.path as osp
import re
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BLOCK = re.compile(r'(<!-- results: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- end results -->)',
                   re.S)


def result_blocks(text: str) -> list:
    """``[(path, body)]`` of the README's result blocks."""
    return [(m.group('path'), m.group('body')) for m in BLOCK.finditer(text)]


def paste(text: str, root: str = ROOT) -> str:
    def fill(m):
        path = osp.join(root, m.group('path'))
        if not osp.isfile(path):
            raise FileNotFoundError(f'README result block names {m.group("path")!r}, which does '
                                    'not exist (run the study first)')
        with open(path) as f:
            return m.group(1) + f.read() + m.group(4)
    return BLOCK.sub(fill, text)


def main():
    readme = sys.argv[1] if len(sys.argv) > 1 else osp.join(ROOT, 'README.md')
    with open(readme) as f:
        text = f.read()
    new = paste(text, osp.dirname(osp.abspath(readme)))
    with open(readme, 'w') as f:
        f.write(new)
    print(f'{readme}: {len(result_blocks(new))} result blocks pasted')


if __name__ == '__main__':
    main()
