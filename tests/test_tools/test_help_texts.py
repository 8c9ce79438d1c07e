"""The tools' --help says what the options do and where the outputs go."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _help(tool):
    res = subprocess.run([sys.executable, tool, '--help'], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return ' '.join(res.stdout.split())  # argparse's line wrapping undone


def test_test_py_help_documents_test_crf_and_the_checkpoint_checks():
    text = _help('tools/test.py')
    assert "test_crf=True: refine the predictions with the config's dense CRF" in text
    assert 'crf_model.workers=N' in text
    assert '--allow-partial load the checkpoint keys that fit the model' in text
    assert 'test_<checkpoint name>/' in text


def test_affinity_labels_help_names_the_folder_affinitynet_trains_on():
    text = _help('tools/make_pseudo_labels.py')
    assert ('--affinity-labels also write AffinityNet training labels from the lowest and '
            'highest --crf alpha: aff_crf/ (the CRF marginals AffinityNet trains on, '
            'pseudo_label_dir=OUT/aff_crf)') in text
