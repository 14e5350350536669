"""The front stages: spec files -> one immutable, resolved ``Project`` (load -> validate -> resolve).

Only ``load`` reads; each stage returns its diagnostics. See README.md for what this package may import.
"""

from compiler.front.load import LoadResult, load
from compiler.front.project import Project
from compiler.front.resolve import ResolveResult, resolve
from compiler.front.validate import ValidateResult, validate

__all__ = ["LoadResult", "Project", "ResolveResult", "ValidateResult", "load", "resolve", "validate"]
