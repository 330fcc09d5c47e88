"""One package per government."""

# Workaround for the `move` branch's import cycle (formats/__init__ imports every government's
# document.py, which imports formats submodules): load the formats package first, whichever
# module is imported first. To be dropped once the cycle is fixed where it is.
import clearway.formats  # noqa: F401
