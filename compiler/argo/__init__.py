"""The Argo Workflows backend: plan -> rendered documents (``render``), then its guards (``check``) and
the tree's ``prerequisites``.

See README.md for what this package may import.
"""

from compiler.argo.guards import check
from compiler.argo.references import prerequisites
from compiler.argo.render import render
from compiler.argo.rules import check_documents

__all__ = ["check", "check_documents", "prerequisites", "render"]
