from .annotating import AnnotatePanel, annotate
from .base import BACKGROUND_MS, PREVIEW_MS, Panel, panel, summarize
from .chooser import OpChooser, choose
from .denoising import DenoisePanel, EnhancePanel, denoise, enhance
from .measuring import MeasurePanel, measure
from .model import PanelModel
from .segmentation import ThresholdPanel, threshold
from .sweeping import Sweep, sweep
from .truth import GroundTruthPanel, ground_truth

__all__ = [
    "panel", "denoise", "enhance", "threshold", "measure", "ground_truth", "sweep", "annotate",
    "choose", "Panel", "PanelModel", "AnnotatePanel", "OpChooser", "DenoisePanel",
    "EnhancePanel", "ThresholdPanel", "MeasurePanel", "GroundTruthPanel", "Sweep", "summarize",
    "BACKGROUND_MS", "PREVIEW_MS",
]
