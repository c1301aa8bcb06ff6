"""The ipywidgets views of the panels: thin renderers of a panel's state.

A view is built from a panel (:class:`~medinteract.panels.model.PanelModel`) and holds nothing
of its own: it draws the panel's traitlets (status, result, readouts, parameters) and turns
what the user does into changes of them. Every view has the same layout and classes
(:class:`PanelView`): a heading (``mi-panel-title``), the controls (``mi-controls``), the status
line (``mi-status``, ``mi-status-error`` after a failure), the image (a
:func:`~medinteract.display.compare` or :func:`~medinteract.display.view` widget, ``viewer``)
and the readouts (``mi-readouts``); readouts exist from the start and say "…" until there is a
result.

The panel changes on its home thread (the kernel's main thread), so views are only ever
touched there. An exception raised while drawing is shown in the panel's ``error`` and status.
"""

from __future__ import annotations

import base64
import html
from functools import partial
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from medinteract.display import compare, encode_png, view
from medinteract.panels.annotating import BRUSH_MAX_MM, BRUSH_MIN_MM, AnnotatePanel
from medinteract.panels.base import Panel, display_array, summarize
from medinteract.panels.chooser import OpChooser
from medinteract.panels.denoising import DenoisePanel, EnhancePanel
from medinteract.panels.figures import (HISTOGRAM_SIZE, PROFILE_SIZE, HistogramFigure,
                                        pixel_layout, profile_png)
from medinteract.panels.measuring import MeasurePanel
from medinteract.panels.model import PanelModel
from medinteract.panels.segmentation import ThresholdPanel
from medinteract.panels.truth import OVERLAP_LEGEND, GroundTruthPanel
from medinteract.params import image_unit
from medinteract.params.widgets import Slider

__all__ = ["PanelView", "OpPanelView", "DenoiseView", "EnhanceView", "ThresholdView",
           "GroundTruthView", "MeasureView", "AnnotateView", "ChooserView", "bind"]

_PENDING = "…"  # what a readout shows before the first result


def bind(control: widgets.Widget, model: PanelModel, trait: str, *,
         to_control: Callable[[Any], Any] = lambda v: v,
         to_model: Callable[[Any], Any] = lambda v: v) -> None:
    """Keep ``control.value`` and ``model.<trait>`` equal, both ways.

    The model's value is shown as it is; a user's change is set on the model (an invalid
    one is refused: the panel shows why and the control goes back to the model's value).
    """
    syncing = False

    def show(_change: Any = None) -> None:
        nonlocal syncing
        value = to_control(getattr(model, trait))
        if control.value != value:
            syncing = True
            try:
                control.value = value
            finally:
                syncing = False

    def changed(change: dict) -> None:
        if syncing:
            return
        try:
            setattr(model, trait, to_model(change["new"]))
        except (traitlets.TraitError, ValueError) as error:
            model.fail(error, context=f"{trait} not set: ")
            show()

    show()
    control.observe(changed, "value")
    model.observe(lambda change: model.guard(show), trait)


class PanelView(widgets.VBox):
    """The view every panel shares: heading, controls, status line, image, readouts.

    Parameters
    ----------
    model : PanelModel
        The panel it renders.
    controls : list of Widget
        Shown above the status line.
    viewer : Widget, optional
        The image (a compare or view widget).
    readouts : list of Widget
        Shown under the image.
    """

    #: The panel rendered (typed loosely: each view renders its own kind of panel).
    model: Any
    #: The image widget (a compare or view widget), or None.
    viewer: Any

    def __init__(self, model: PanelModel, *, controls: Sequence[widgets.Widget] = (),
                 viewer: widgets.Widget | None = None,
                 readouts: Sequence[widgets.Widget] = ()) -> None:
        self.model = model
        self.viewer = viewer
        heading = widgets.HTML(f"<b>{html.escape(model.title)}</b>")
        heading.add_class("mi-panel-title")
        self.status_line = widgets.HTML()
        self.status_line.add_class("mi-status")
        self.controls_box = widgets.VBox(list(controls))
        self.controls_box.add_class("mi-controls")
        self.readouts = widgets.VBox(list(readouts))
        self.readouts.add_class("mi-readouts")
        super().__init__([heading, self.controls_box, self.status_line,
                          *([viewer] if viewer is not None else []), self.readouts])
        self.add_class("mi-panel")
        self.add_class(f"mi-panel-{model.name}")
        if viewer is not None:
            traitlets.link((model, "axis"), (viewer, "axis"))
            traitlets.link((model, "index"), (viewer, "index"))
        self.on_change(self._draw_status, "status", "error", "busy")
        self._draw_status()

    def on_change(self, draw: Callable[[], None], *names: str) -> None:
        """Call ``draw()`` whenever one of the model's traits ``names`` changes (an exception
        shows in the panel)."""
        self.model.observe(lambda _change: self.model.guard(draw), list(names))

    def _draw_status(self) -> None:
        model = self.model
        colour = "#c62828" if model.error else ("#555" if model.busy else "#2e7d32")
        name, _, text = model.status.partition(" · ")
        self.status_line.value = (f"<span style='color:{colour}'><code>{html.escape(name)}"
                                  f"</code> · {html.escape(text)}</span>" if text else "")
        if model.error:
            self.status_line.add_class("mi-status-error")
        else:
            self.status_line.remove_class("mi-status-error")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget plus a PNG of the image, so saved notebooks show a picture."""
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        if self.viewer is not None:
            png = encode_png(self.viewer.snapshot())
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle


# -- op panels ---------------------------------------------------------------------------------
class OpPanelView(PanelView):
    """The view of an op :class:`~medinteract.panels.Panel`: its parameter widgets (from the
    parameter kinds), a before/after :func:`~medinteract.display.compare` of the input and the
    result (or the preview while it runs), and a readout of tables and values."""

    def __init__(self, model: Panel) -> None:
        self.model = model
        self._syncing = False
        self.controls: dict[str, widgets.Widget] = {}
        for p in model.described:
            control = p.widget(model.params[p.name], model.scan)
            if control is not None:
                self.controls[p.name] = control
        extra: list[widgets.Widget] = []
        if len(model.point_names) > 1:
            target = widgets.ToggleButtons(options=model.point_names, description="click sets")
            target.add_class("mi-point-target")
            bind(target, model, "point_target")
            extra.append(target)
        viewer = compare(model.scan, model.scan.array, **model.view_options)
        self._readout = widgets.HTML(layout=widgets.Layout(overflow="auto", max_width="100%"))
        self._readout.add_class("mi-output-readout")
        super().__init__(model, controls=[*extra, *self.controls.values()], viewer=viewer,
                         readouts=[self._readout, *self.readout_widgets()])
        for name, control in self.controls.items():
            control.observe(partial(self._from_control, name), "value")
        self.model.observe(self._to_controls, "params")
        self.on_change(self._draw_input, "scan")
        self.on_change(self._draw_result, "result")
        self.on_change(self._draw_preview, "preview")
        if model.point_names:
            viewer.on_click(self._clicked)
        self._draw_preview()  # the preview on show, else the result
        self.draw_readouts()
        self.on_change(self.draw_readouts, "result", *self.readout_traits())

    # -- readouts (subclasses) --------------------------------------------------------------
    def readout_widgets(self) -> list[widgets.Widget]:
        """Widgets shown under the generic readout (subclasses)."""
        return []

    def readout_traits(self) -> tuple[str, ...]:
        """Model traits whose change redraws the readouts (besides ``result``)."""
        return ()

    def draw_readouts(self) -> None:
        """Draw the readouts from the model (subclasses extend it)."""
        self._readout.value = _readout_html(self.model.result)

    # -- parameters -------------------------------------------------------------------------
    def _from_control(self, name: str, change: dict) -> None:
        if self._syncing:
            return
        model = self.model
        try:
            model.params = {**model.params, name: change["new"]}
        except (traitlets.TraitError, ValueError) as error:
            model.fail(error, context="not set: ")
            self._to_controls()

    def _to_controls(self, _change: Any = None) -> None:
        self._syncing = True
        try:
            for name, control in self.controls.items():
                value = self.model.params.get(name)
                if control.value != value:
                    control.value = value
        finally:
            self._syncing = False

    def _clicked(self, found: dict) -> None:
        if found.get("inside", True):
            self.model.guard(lambda: self.model.pick(found["index"]))

    # -- images -----------------------------------------------------------------------------
    def _draw_input(self) -> None:
        model, viewer = self.model, self.viewer
        with viewer.batch():
            viewer.before = model.scan
            self._sync_bounds()
            if model.result is None or model.display_labels(model.result) is not None:
                viewer.after = model.scan

    def _sync_bounds(self) -> None:
        """Sliders of parameters bounded by the image follow a chained panel's new input."""
        for p in self.model.described:
            control = self.controls.get(p.name)
            bounds = p.bounds(self.model.scan)
            if not isinstance(control, Slider) or bounds is None or p.kind != "from_image":
                continue
            value = self.model.params.get(p.name)
            low, high = bounds.min, bounds.max
            if value is not None:  # never move a value the panel holds
                low, high = min(low, value), max(high, value)
            self._syncing = True
            try:
                control.set_bounds(low, high, value, step=bounds.step)
            finally:
                self._syncing = False

    def _show(self, out: Any) -> None:
        model, viewer = self.model, self.viewer
        labels = model.display_labels(out)
        if labels is not None:
            with viewer.batch():
                if viewer.after is not model.scan:
                    viewer.after = model.scan
                viewer.after_labels = labels
            return
        shown = display_array(out, model.scan.array, viewer.window)
        if shown is not None:
            viewer.after = shown

    def _draw_result(self) -> None:
        if self.model.result is not None:
            self._show(self.model.result)

    def _draw_preview(self) -> None:
        if self.model.preview is not None:
            self._show(self.model.preview)
        else:
            self._draw_result()


def _readout_html(out: Any) -> str:
    if isinstance(out, pd.DataFrame):
        return out.head(50).to_html(float_format=lambda v: f"{v:.4g}", index=False,
                                    classes="mi-table", border=0)
    if isinstance(out, (dict, float, int, np.number)):
        return f"<code>{html.escape(summarize(out))}</code>"
    return ""


def _number(value: float | None, spec: str) -> str:
    return _PENDING if value is None else format(value, spec)


class DenoiseView(OpPanelView):
    """Adds the noise (and PSNR/SSIM against the reference) and a line profile of before and
    after along a row chosen with a slider."""

    def readout_widgets(self) -> list[widgets.Widget]:
        model: DenoisePanel = self.model
        self._numbers = widgets.HTML()
        self._numbers.add_class("mi-denoise-readout")
        rows = model.scan.shape[1] if model.scan.is_volume else model.scan.shape[0]
        row = Slider(value=model.profile_row, min=0, max=rows - 1, step=1, integer=True,
                     description="profile row")
        row.add_class("mi-profile-row")
        bind(row, model, "profile_row")
        self._profile = widgets.Image(format="png", layout=pixel_layout(PROFILE_SIZE))
        self._profile.add_class("mi-line-profile")
        self.on_change(self._draw_profile, "profile_row", "index")
        return [self._numbers, row, self._profile]

    def readout_traits(self) -> tuple[str, ...]:
        return ("noise_before", "noise_after", "psnr", "ssim")

    def draw_readouts(self) -> None:
        super().draw_readouts()
        model: DenoisePanel = self.model
        unit = image_unit(model.scan) or ""
        parts = [f"noise σ: {model.noise_before:.3g} → {_number(model.noise_after, '.3g')} "
                 f"{unit}".strip()]
        if model.reference is not None:
            parts.append(f"PSNR {_number(model.psnr, '.2f')} dB · SSIM "
                         f"{_number(model.ssim, '.3f')} (vs reference)")
        self._numbers.value = "<code>" + html.escape(" · ".join(parts)) + "</code>"
        self._draw_profile()

    def _draw_profile(self) -> None:
        model: DenoisePanel = self.model
        data = model.profile()
        curves = {"before": data["before"]}
        if data["after"].size:
            curves["after"] = data["after"]
        self._profile.value = profile_png(data["distance_mm"], curves,
                                          unit=image_unit(model.scan) or "",
                                          title=f"row {model.profile_row}", size=PROFILE_SIZE)


class EnhanceView(OpPanelView):
    """Adds the RMS contrast of the input and of the result in the scan's window."""

    def readout_widgets(self) -> list[widgets.Widget]:
        self._numbers = widgets.HTML()
        self._numbers.add_class("mi-enhance-readout")
        return [self._numbers]

    def readout_traits(self) -> tuple[str, ...]:
        return ("contrast_before", "contrast")

    def draw_readouts(self) -> None:
        super().draw_readouts()
        model: EnhancePanel = self.model
        self._numbers.value = (f"<code>RMS contrast in the window: {model.contrast_before:.3f}"
                               f" → {_number(model.contrast, '.3f')}</code>")


class ThresholdView(OpPanelView):
    """Adds buttons for automatic thresholds, the object count and the histogram of the whole
    image with the kept range and the thresholds (drawn once; a threshold change only moves
    the lines); the mask is drawn over the image."""

    def __init__(self, model: ThresholdPanel) -> None:
        super().__init__(model)
        self.viewer.opacity = 0.5
        self.on_change(self._draw_lines, "params")
        self.on_change(self._new_histogram, "scan")

    def readout_widgets(self) -> list[widgets.Widget]:
        model: ThresholdPanel = self.model
        buttons = []
        for method in model.auto_methods:
            button = widgets.Button(description=method, layout=widgets.Layout(width="80px"),
                                    tooltip=f"set low to the {method} threshold")
            button.on_click(lambda _, m=method: model.guard(lambda: model.set_auto(m)))
            button.add_class(f"mi-auto-{method}")
            buttons.append(button)
        auto_box = widgets.HBox([widgets.HTML("automatic low:"), *buttons])
        auto_box.add_class("mi-auto-threshold")
        self._count = widgets.HTML()
        self._count.add_class("mi-object-count")
        self._histogram = widgets.Image(format="png", layout=pixel_layout(HISTOGRAM_SIZE))
        self._histogram.add_class("mi-histogram")
        self._new_histogram()
        return [auto_box, self._count, self._histogram]

    def readout_traits(self) -> tuple[str, ...]:
        return ("objects", "params")

    def _new_histogram(self) -> None:
        scan = self.model.scan
        self.histogram_figure = HistogramFigure(scan.array, unit=image_unit(scan) or "",
                                                size=HISTOGRAM_SIZE)
        self._draw_lines()

    def _draw_lines(self) -> None:
        params = self.model.params
        self._histogram.value = self.histogram_figure.png(params.get("low"), params.get("high"))

    def draw_readouts(self) -> None:
        super().draw_readouts()
        model: ThresholdPanel = self.model
        unit = image_unit(model.scan) or "units"
        low, high = model.params.get("low"), model.params.get("high")
        kept = " ≤ ".join(f"{v:g} {unit}" if isinstance(v, float) else v for v in
                          (low if low is not None else "−∞", "value",
                           high if high is not None else "∞"))
        count = _PENDING if model.objects is None else str(model.objects)
        self._count.value = (f"<code>{html.escape(kept)}</code> · <b>{count}</b> connected "
                             "objects (the mask is drawn over the image in <i>after</i>)")


class GroundTruthView(OpPanelView):
    """Adds Dice, IoU, Hausdorff distance and pixel counts, and the legend of the TP/FP/FN
    overlay."""

    def __init__(self, model: GroundTruthPanel) -> None:
        super().__init__(model)
        self.viewer.opacity = 0.6

    def readout_widgets(self) -> list[widgets.Widget]:
        self._numbers = widgets.HTML()
        self._numbers.add_class("mi-truth-readout")
        legend = widgets.HTML(f"<i>after</i>: {OVERLAP_LEGEND}")
        legend.add_class("mi-truth-legend")
        return [self._numbers, legend]

    def readout_traits(self) -> tuple[str, ...]:
        return ("dice", "iou", "hausdorff_mm", "counts")

    def draw_readouts(self) -> None:
        super().draw_readouts()
        model: GroundTruthPanel = self.model
        c = model.counts
        self._numbers.value = html.escape(
            f"Dice {_number(model.dice, '.3f')} · IoU {_number(model.iou, '.3f')} · "
            f"Hausdorff {_number(model.hausdorff_mm, '.2f')} mm · TP {c.get('TP', _PENDING)} · "
            f"FP {c.get('FP', _PENDING)} · FN {c.get('FN', _PENDING)} px"
        ).join(("<code>", "</code>"))


# -- measure -----------------------------------------------------------------------------------
class MeasureView(PanelView):
    """The view of a :class:`~medinteract.panels.MeasurePanel`: the filter (a column and its
    range), the list of kept objects (select one to highlight it), the image with the kept
    objects in blue and the selected one in orange, the table and CSV export."""

    def __init__(self, model: MeasurePanel) -> None:
        self.model = model
        viewer = compare(model.scan, model.scan, **model.view_options)
        viewer.opacity = 0.5
        self.column_menu = widgets.Dropdown(options=self._column_options(), value="",
                                            description="filter by")
        self.column_menu.add_class("mi-filter-column")
        low, high = model.column_range(model.filter_column) or (0.0, 1.0)
        self.range_slider = Slider(value=(low, high), min=low, max=high, pair=True,
                                   description="keep", disabled=True)
        self.range_slider.add_class("mi-filter-range")
        self.region_list = widgets.Select(options=[("none", 0)], value=0, rows=8,
                                          description="object")
        self.region_list.add_class("mi-region-select")
        self.table_html = widgets.HTML(layout=widgets.Layout(overflow="auto",
                                                             max_width="100%"))
        self.table_html.add_class("mi-region-table")
        self.csv_path = widgets.Text(value="regions.csv", description="CSV file")
        self.csv_button = widgets.Button(description="export CSV")
        self.csv_button.add_class("mi-export-csv")
        self.csv_button.on_click(
            lambda _: model.guard(lambda: model.export_csv(self.csv_path.value)))
        super().__init__(model, controls=[
            widgets.HBox([self.column_menu, self.range_slider]),
            widgets.HBox([self.region_list, widgets.HTML(
                "<i>after</i>: kept objects in blue, the selected one in orange")]),
        ], viewer=viewer, readouts=[self.table_html,
                                    widgets.HBox([self.csv_path, self.csv_button])])
        self._draw_table()
        bind(self.column_menu, model, "filter_column")
        bind(self.region_list, model, "selected")
        bind(self.range_slider, model, "filter_range", to_control=self._range_value,
             to_model=tuple)
        self.on_change(self._draw_table, "table", "result", "filter_column")
        self.on_change(self._draw_objects, "result", "selected")
        self._draw_objects()

    def _column_options(self) -> list[tuple[str, str]]:
        return [("(no filter)", "")] + [(c, c) for c in self.model.numeric_columns()]

    def _range_value(self, value: tuple) -> tuple:
        return tuple(value) if value else self.range_slider.value

    def _draw_table(self) -> None:
        model: MeasurePanel = self.model
        with self.column_menu.hold_sync():
            options = self._column_options()
            if list(self.column_menu.options) != options:
                self.column_menu.options = options
            self.column_menu.value = model.filter_column
        bounds = model.column_range(model.filter_column)
        slider = self.range_slider
        if bounds:
            low, high = bounds
            value = model.filter_range or bounds
            slider.set_bounds(min(low, value[0]), max(high, value[1]), tuple(value),
                              step=(high - low) / 200)
            slider.disabled = False
        else:
            slider.disabled = True
        rows = [] if model.result is None else list(model.result.itertuples())
        with self.region_list.hold_sync():
            self.region_list.options = [("none", 0)] + [
                (f"{int(row.label)}: " + _row_summary(row), int(row.label)) for row in rows]
            self.region_list.value = model.selected
        self.table_html.value = "" if model.result is None else model.result.head(100).to_html(
            index=False, border=0, classes="mi-table", float_format=lambda v: f"{v:.4g}")

    def _draw_objects(self) -> None:
        self.viewer.after_labels = self.model.display_labels()


def _row_summary(row: Any) -> str:
    size = getattr(row, "area_mm2", None)
    if size is not None:
        return f"{size:.1f} mm²"
    return f"{getattr(row, 'volume_mm3', 0.0):.1f} mm³"


# -- annotate ----------------------------------------------------------------------------------
class AnnotateView(PanelView):
    """The view of an :class:`~medinteract.panels.AnnotatePanel`: the shared viewer
    (:func:`~medinteract.display.view`: slices, zoom, window, downsampling) with the labels
    drawn over the scan, mouse strokes that paint in voxels, and the tool controls."""

    def __init__(self, model: AnnotatePanel) -> None:
        viewer = view(model.scan, labels=model.labels, opacity=0.5, **model.view_options)
        viewer.add_class("mi-annotate-viewer")
        tool = widgets.ToggleButtons(options=["paint", "erase", "fill"], description="tool")
        label = widgets.BoundedIntText(min=1, max=255, description="label",
                                       layout=widgets.Layout(width="160px"))
        brush = Slider(value=model.brush_mm, min=BRUSH_MIN_MM, max=BRUSH_MAX_MM, step=0.5,
                       description="brush (mm)")
        undo = widgets.Button(description="undo", layout=widgets.Layout(width="70px"))
        undo.on_click(lambda _: model.guard(model.undo))
        for control, trait, css in ((tool, "tool", "mi-annotate-tool"),
                                    (label, "label", "mi-annotate-label"),
                                    (brush, "brush_mm", "mi-annotate-brush")):
            bind(control, model, trait)
            control.add_class(css)
        undo.add_class("mi-annotate-undo")
        box = widgets.HBox([tool, label, brush, undo],
                           layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(model, controls=[box], viewer=viewer)
        viewer.on_stroke(self._stroked)
        self.on_change(self._draw_labels, "revision")

    def _stroked(self, event: dict) -> None:
        model: AnnotatePanel = self.model
        axis = self.viewer.axis if model.scan.is_volume else 0
        model.guard(lambda: model.stroke(event.get("phase", "move"), event["index"],
                                         axis=axis))

    def _draw_labels(self) -> None:
        model: AnnotatePanel = self.model
        edit = model.last_edit  # the labels are edited in place: say which slices changed
        changed: int | tuple[int, int] | None
        if edit is None:  # new labels (loaded): the viewer finds what differs
            changed = None
        elif not model.scan.is_volume:
            changed = 0  # the one slice of a 2-D image
        else:  # one axial slice; a coronal or sagittal plane crosses them all
            changed = edit[1] if edit[0] == 0 else (0, model.scan.shape[0])
        self.viewer.set_labels(model.labels, changed=changed)


# -- chooser ---------------------------------------------------------------------------------
class Deck(widgets.VBox):
    """A box that shows one of its children; the others stay in the page, hidden.

    ``ipywidgets.Stack`` looks the same, but its browser view removes the shown child's view
    and creates the next one's at every change of ``selected_index``, then posts a resize
    message to the new view: after a burst of changes from code (a loop, Run All) that message
    can reach a view already removed by the next change, and JupyterLab's widget manager logs
    ``TypeError: Cannot read properties of null (reading 'processLuminoMessage')``. Here a
    change only sets ``display`` on two children's layouts; no view is created or removed.

    Parameters
    ----------
    children : sequence of ipywidgets.Widget
        The cards. Each child's ``layout.display`` is owned by the deck.
    selected_index : int or None
        The child shown (None: none).
    """

    selected_index = traitlets.Int(None, allow_none=True)

    def __init__(self, children: Sequence[widgets.Widget] = (), *,
                 selected_index: int | None = None, **kwargs: Any) -> None:
        super().__init__(children, **kwargs)
        self.add_class("mi-deck")
        self.selected_index = selected_index
        self._show()

    @traitlets.validate("selected_index")
    def _valid_index(self, proposal: dict) -> int | None:
        index = proposal["value"]
        if index is not None and not 0 <= index < len(self.children):
            raise traitlets.TraitError(
                f"selected_index {index} is not a child of this deck ({len(self.children)})")
        return index

    @traitlets.observe("selected_index", "children")
    def _show(self, _change: dict | None = None) -> None:
        for i, child in enumerate(self.children):
            child.layout.display = None if i == self.selected_index else "none"


class ChooserView(widgets.VBox):
    """The view of an :class:`~medinteract.panels.OpChooser`: a menu of ops above the view of
    the chosen op's panel.

    The panels' views sit in a :class:`Deck` that shows the chosen one: a view, once shown,
    stays in the page (hidden when another op is chosen) and is never taken out and put back,
    so quick changes of op (a loop in code, Run All) create and remove no views in the browser.
    """

    def __init__(self, model: OpChooser) -> None:
        self.model = model
        self.menu = widgets.Dropdown(options=model.options, description=model.category)
        self.menu.add_class("mi-op-menu")
        self.stack = Deck()
        super().__init__([self.menu, self.stack])
        self.add_class("mi-chooser")
        traitlets.link((model, "op"), (self.menu, "value"))
        model.observe(lambda _change: self._draw(), "op")
        self._draw()

    def _draw(self) -> None:
        shown = self.model.panel.widget
        views = list(self.stack.children)
        if shown not in views:
            views.append(shown)
            self.stack.children = views  # only ever added to
        self.stack.selected_index = views.index(shown)

