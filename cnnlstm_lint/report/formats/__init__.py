"""The output formats: one module each, named after its format (`--format NAME`).

A format module exposes `render(results, *, verbose=False, color=False) -> str` and opens
with a one-line docstring, the format's help text. Dropping a module here is all it takes:
report/__init__.py finds the names with pkgutil, without importing the modules. Helpers
that several formats share (escape.py, paths.py, human.py) live in report/, not here.
"""
