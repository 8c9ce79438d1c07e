"""Paste committed runner outputs into the docs, so that no number there is typed by hand.

    python tools/paste_results.py [FILE.md ...]   # default: README.md, docs/en/*.md, configs/*/README.md

Every block ``<!-- results: PATH -->`` ... ``<!-- end results -->`` is replaced by the current
text of ``PATH`` (relative to the repository root; a ``results.md`` / ``pseudo_labels.md`` written
by ``tools/run_experiments.py``). Most results live in ``docs/en/studies.md``;
``tests/test_readme.py`` checks that each block equals its file.
"""
import glob
import os.path as osp
import re
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BLOCK = re.compile(r'(<!-- results: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- end results -->)',
                   re.S)


def doc_files() -> list:
    """README.md, the pages of ``docs/en/`` and the config folders' READMEs: the files that may
    hold result blocks."""
    return ([osp.join(ROOT, 'README.md')] +
            sorted(glob.glob(osp.join(ROOT, 'docs', 'en', '*.md'))) +
            sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'README.md'))))


def result_blocks(text: str) -> list:
    """``[(path, body)]`` of the text's result blocks."""
    return [(m.group('path'), m.group('body')) for m in BLOCK.finditer(text)]


def paste(text: str, root: str = ROOT) -> str:
    def fill(m):
        path = osp.join(root, m.group('path'))
        if not osp.isfile(path):
            raise FileNotFoundError(f'result block names {m.group("path")!r}, which does '
                                    'not exist (run the study first)')
        with open(path) as f:
            return m.group(1) + f.read() + m.group(4)
    return BLOCK.sub(fill, text)


def main():
    for doc in sys.argv[1:] or doc_files():
        with open(doc) as f:
            text = f.read()
        new = paste(text)
        if new != text:
            with open(doc, 'w') as f:
                f.write(new)
        print(f'{doc}: {len(result_blocks(new))} result blocks pasted')


if __name__ == '__main__':
    main()
