"""medinteract: an interactive medical-imaging lab for JupyterLab.

The flat public API (``medinteract.load``, ``medinteract.view``, ...) and the subpackages are
imported on first use (:mod:`lazy_loader`; the names are listed in ``__init__.pyi``), so
``import medinteract`` stays fast and a script that only loads scans never imports ipywidgets.
"""

import lazy_loader as _lazy

__version__ = "0.1.0.dev0"

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
