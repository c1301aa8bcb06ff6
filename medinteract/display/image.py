"""The image widget: an ``ipywidgets.Image`` that shows PNG bytes at a physical-aspect size
and reports mouse positions.

Mouse events come from `ipyevents <https://github.com/mwcraig/ipyevents>`_: it is maintained,
works directly on a plain ``ipywidgets.Image`` (no custom front-end code to ship or build),
runs fully offline in JupyterLab, Notebook 7 and VS Code, and reports the position relative to
the image element together with the element's on-screen size, which is all the probe needs.
A hand-written anywidget would duplicate that and add JavaScript to maintain. Without ipyevents
the viewers still work; only the mouse probe is off.
"""

from __future__ import annotations

from typing import Any, Callable

import ipywidgets as widgets
import traitlets

__all__ = ["SliceImage", "MouseHandler"]

#: ``callback(kind, x_px, y_px, width_px, height_px)``; kind is "mousemove", "click" or
#: "mouseleave"; positions and sizes are in CSS pixels of the image element.
MouseHandler = Callable[[str, float, float, float, float], None]


class SliceImage(widgets.Image):
    """An image element showing one rendered view.

    Attributes
    ----------
    render_count : int
        How many times new pixels were shown (one per render).
    """

    render_count = traitlets.Int(0, help="Number of renders shown so far.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="png", **kwargs)
        self.add_class("mi-image")
        self.layout.object_fit = "fill"  # stretch pixels to the physical-aspect size
        self._events: Any = None

    def show(self, png: bytes, height_px: int, width_px: int) -> None:
        """Show new PNG bytes at ``height_px`` x ``width_px`` CSS pixels (counts a render)."""
        self.set_size(height_px, width_px)
        self.value = png
        self.render_count += 1

    def set_size(self, height_px: int, width_px: int) -> None:
        """Set the on-screen size without new pixels (no render)."""
        width, height = f"{int(width_px)}px", f"{int(height_px)}px"
        if self.layout.width != width:
            self.layout.width = width
        if self.layout.height != height:
            self.layout.height = height

    def on_mouse(self, handler: MouseHandler) -> bool:
        """Call ``handler`` on mouse moves and clicks over the image.

        Returns
        -------
        bool
            False when ipyevents is not installed (no mouse events then).
        """
        try:
            from ipyevents import Event
        except ImportError:
            return False
        def dispatch(event: dict[str, Any]) -> None:
            handler(event.get("type", ""), float(event.get("relativeX", -1)),
                    float(event.get("relativeY", -1)),
                    float(event.get("boundingRectWidth", 0) or 0),
                    float(event.get("boundingRectHeight", 0) or 0))

        # Moves are throttled (at most one message per 40 ms); clicks never are.
        moves = Event(source=self, watched_events=["mousemove", "mouseleave"], wait=40,
                      throttle_or_debounce="throttle")
        clicks = Event(source=self, watched_events=["click"])
        moves.on_dom_event(dispatch)
        clicks.on_dom_event(dispatch)
        self._events = (moves, clicks)
        return True
