"""The Tekton backend: plan -> rendered documents (``render``), then its guards (``check``).

See README.md for what this package may import.
"""

from compiler.manifests.references import Prerequisites
from compiler.manifests.render import RenderedDoc
from compiler.tekton.guards import check
from compiler.tekton.references import prerequisites
from compiler.tekton.render import render

__all__ = ["Prerequisites", "RenderedDoc", "check", "prerequisites", "render"]
