from .cam_panel import cam_heatmap, colorize_labels, render_cam_panel, score_map, write_png

__all__ = ['cam_heatmap', 'colorize_labels', 'render_cam_panel', 'score_map', 'write_png']
