# Fresh machine: `make demo` (set up + main job) and `make test` (set up + tests).
PY := .venv/bin/python

.PHONY: setup demo demo-baseline test benchmark

setup:
	bash tools/setup_env.sh

data/synthetic_voc/cls_labels.json: | setup
	$(PY) tools/make_synthetic_dataset.py data/synthetic_voc

demo: setup data/synthetic_voc/cls_labels.json
	$(PY) tools/train.py configs/hfpl/demo_synthetic.py --work-dir work_dirs/demo_synthetic
	@echo "pictures: work_dirs/demo_synthetic/vis/"

demo-baseline: setup data/synthetic_voc/cls_labels.json
	$(PY) tools/train.py configs/cam/cam_r18_demo_synthetic.py --work-dir work_dirs/demo_synthetic_baseline

# 2 pytest-xdist workers of one thread each, a module per worker (tests/conftest.py); the 25
# slowest tests printed
test: setup
	$(PY) -m pytest tests -q --durations=25 -n 2 --dist loadscope --no-loadscope-reorder

benchmark: setup
	$(PY) tools/benchmarks/fsl.py
