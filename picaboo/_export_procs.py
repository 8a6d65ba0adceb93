"""nbdev export processor for the book (run by `nbdev-export`, never imported by the package).

nbdev writes a chapter's `#| default_exp` module afresh on every export, but a module that a chapter fills with
`#| export NAME` cells (picaboo.device, picaboo.loading, the cli_* modules, ...) is only appended to, so a second
export would repeat its code. `ResetModules` empties each such module just before its notebook is written out.
Configured in pyproject.toml: `[tool.nbdev] export_procs = ["picaboo._export_procs:ResetModules"]`.
"""

import pprint
import textwrap

import nbdev.maker

EXPORT_DIRECTIVES = ("export", "exporti", "exports")  # nbdev directives that take a module name
ALL_WIDTH = 108  # nbdev writes `__all__ = ` before lists it wraps at 120 (160 for appended modules): keep them in 120


class NarrowWrapper(textwrap.TextWrapper):
    "nbdev's wrapper for `__all__`, narrowed so that the line with its `__all__ = ` prefix stays within 120 columns."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "width": ALL_WIDTH})


def narrow_pformat(obj, width=None):
    "nbdev's `pformat` for the `__all__` of appended modules, at the same width."
    return pprint.pformat(obj, width=ALL_WIDTH)


nbdev.maker.TextWrapper = NarrowWrapper
nbdev.maker.pformat = narrow_pformat


class ResetModules:
    "Empty every module that the notebook being exported fills with `#| export NAME` cells."

    def __init__(self, nb):
        self.nb = nb

    def modules(self) -> set[str]:
        "The names given to export directives in this notebook's code cells."
        names = set()
        for cell in self.nb.cells:
            directives = getattr(cell, "directives_", None) or {}
            for name in EXPORT_DIRECTIVES:
                names.update((directives.get(name) or "").split())
        return names

    def begin(self):
        from nbdev.config import get_config

        lib = get_config().lib_path
        for name in self.modules():
            path = lib / (name.replace(".", "/") + ".py")
            path.write_text(f'"Exported from the book\'s notebooks by nbdev: edit the notebook, not this file."\n\n'
                            "__all__ = []\n", encoding="utf-8")

    def __call__(self, cell):
        return None
