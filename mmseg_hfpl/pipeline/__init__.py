"""One command from image-level labels to a segmentor: the stages of a pipeline config run as
the per-stage tools, resumable and never stale (see ``tools/run_pipeline.py``)."""
from .runner import Pipeline
from .stages import Stage, StagePlan, check_work_dir, load_pipeline

__all__ = ['Pipeline', 'Stage', 'StagePlan', 'check_work_dir', 'load_pipeline']
