"""mmseg_hfpl.engine.process_exit: a tool process exits without the final collections, with its
files' buffers written, its exit handlers run; every tool that imports the plugin uses it."""
import ast
import glob
import gc
import os.path as osp
import subprocess
import sys

from mmseg_hfpl.engine.process_exit import flush_open_files

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODULE = osp.join(ROOT, 'mmseg_hfpl', 'engine', 'process_exit.py')


def exit_script(skip: bool, path: str, log: str) -> str:
    """A process (the module loaded by itself: no torch) that writes through a file object
    reachable only through a reference cycle held by a global, never closes it, and logs to a
    file; an exit handler registered first (so run last) prints the frozen object count."""
    return f"""
import atexit, gc, importlib.util, logging
atexit.register(lambda: print('frozen', gc.get_freeze_count(), flush=True))
spec = importlib.util.spec_from_file_location('process_exit', {MODULE!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
before = atexit._ncallbacks()
if {skip}:
    module.skip_exit_collection()
    module.skip_exit_collection()  # registered once
print('handlers added', atexit._ncallbacks() - before, flush=True)
class Holder:
    pass
holder = Holder()
holder.self = holder  # a reference cycle: only the collector would finalise it
holder.file = open({path!r}, 'w')
holder.file.write('written at exit')
logger = logging.getLogger('tool')
logger.addHandler(logging.FileHandler({log!r}))
logger.warning('logged')
"""


def run_exit(skip: bool, tmp_path):
    path, log = str(tmp_path / f'out{skip}.txt'), str(tmp_path / f'log{skip}.txt')
    res = subprocess.run([sys.executable, '-c', exit_script(skip, path, log)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.split('\n'), open(path).read(), open(log).read()


def test_exit_freezes_the_objects_and_keeps_the_buffered_writes(tmp_path):
    lines, written, logged = run_exit(True, tmp_path)
    assert 'handlers added 1' in lines  # the second call registered nothing
    frozen = int(next(ln for ln in lines if ln.startswith('frozen')).split()[1])
    assert frozen > 1000  # every object of the process moved out of the collector's sight
    assert written == 'written at exit'  # flushed before the freeze
    assert logged == 'logged\n'  # logging's own exit handler still ran
    # the default exit, for comparison: nothing frozen, the same files
    lines, written, logged = run_exit(False, tmp_path)
    assert 'handlers added 0' in lines and 'frozen 0' in lines
    assert written == 'written at exit' and logged == 'logged\n'


def test_flush_open_files_writes_the_buffers_and_skips_closed_and_read_only_files(tmp_path):
    out = open(tmp_path / 'a.txt', 'w')
    binary = open(tmp_path / 'b.bin', 'wb')
    closed = open(tmp_path / 'c.txt', 'w')
    closed.close()
    (tmp_path / 'd.txt').write_text('read')
    reader = open(tmp_path / 'd.txt')
    try:
        out.write('text')
        binary.write(b'\x01\x02')
        assert (tmp_path / 'a.txt').read_text() == ''  # still in the buffer
        flushed = flush_open_files()
        assert (tmp_path / 'a.txt').read_text() == 'text'
        assert (tmp_path / 'b.bin').read_bytes() == b'\x01\x02'
        assert flushed >= 2  # these two, and whatever else this process has open for writing
        assert gc.get_freeze_count() == 0  # flushing alone freezes nothing
    finally:
        out.close()
        binary.close()
        reader.close()


def test_every_tool_that_imports_the_plugin_skips_the_exit_collection():
    """Every tool (and the DDP test driver) whose module imports the plugin calls
    ``skip_exit_collection()`` first in its ``__main__`` block."""
    tools = [p for p in glob.glob(osp.join(ROOT, 'tools', '**', '*.py'), recursive=True)
             if 'benchmarks' not in p]
    checked = []
    for path in tools + [osp.join(ROOT, 'tests', 'test_tools', 'dist_driver.py')]:
        tree = ast.parse(open(path).read())
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in imports for a in n.names] + [
            n.module or '' for n in imports if isinstance(n, ast.ImportFrom)]
        if not any(name.startswith('mmseg_hfpl') for name in names):
            continue
        main_block = next(n for n in tree.body if isinstance(n, ast.If)
                          and '__main__' in ast.unparse(n.test))
        calls = [ast.unparse(s) for s in main_block.body]
        assert calls[0] == 'skip_exit_collection()', (path, calls)
        checked.append(osp.relpath(path, ROOT))
    assert {'tools/train.py', 'tools/test.py', 'tools/make_pseudo_labels.py',
            'tools/refine_pseudo_labels.py', 'tools/run_pipeline.py'} <= set(checked), checked
