"""The Argo Workflows backend: for now, the admission rules of Argo's own validator
(:func:`compiler.argo.rules.check_documents`), used to check generated Argo documents."""

from compiler.argo.rules import check_documents

__all__ = ["check_documents"]
