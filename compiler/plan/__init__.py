"""Project -> the backend-neutral plan: runs, steps, volumes, names, shards, triggers.

See README.md for what this package may import.
"""

from compiler.plan.model import Plan
from compiler.plan.planner import plan

__all__ = ["Plan", "plan"]
