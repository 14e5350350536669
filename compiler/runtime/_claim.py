"""One writer per run folder: the claim object, whose work the folder holds, and the check before _SUCCESS.

rclone offers no conditional create on any store, so the claim is optimistic: a run writes ``_claim.json``
(its run token and its job: request id, service, input) before it writes anything else, reads it back
before each later phase, and writes ``_SUCCESS`` only when the claim is still its own and the folder's
listing equals what it uploaded. Of two runs that overlap, the one that claimed last wins; the other stops
without ``_SUCCESS``, naming the winner. A folder that holds objects of another job (another service or
input, or objects no run of ours wrote) is refused before anything is written, unless the job says it may
replace another run's work; objects that no run wrote are never deleted.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

try:
    from . import _common as common
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]

CLAIM = "_claim.json"
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
NOT_FOUND = (0, 3, 4)  # rclone's exit codes for "directory not found" and "file not found"
SETTLE_SECONDS = 1.0  # an upload of a small claim object is done by then


def _doc(text: str) -> Optional[Dict[str, Any]]:
    try:
        doc = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def same_job(doc: Dict[str, Any], mine: Dict[str, str]) -> bool:
    """True when ``doc`` (a claim or manifest) is of the same job; a field it lacks (older runs) is not held
    against it."""
    return all(str(doc[key]) == value for key, value in mine.items() if key in doc)


def describe(doc: Dict[str, Any]) -> str:
    parts = [f"{key} {doc[key]!r}" for key in ("run", "service", "source") if doc.get(key)]
    return ", ".join(parts) or "an unknown run"


class Folder:
    """The run folder ``folder`` as run ``me`` of job ``job`` writes it."""

    def __init__(self, rclone: common.Rclone, folder: str, me: str, job: Dict[str, str]) -> None:
        self.rclone, self.folder, self.me, self.job = rclone, folder, me, job

    def _list(self, step: str) -> Dict[str, int]:
        listing = self.rclone.run(step, [*common.LSJSON, self.folder], NOT_FOUND)
        return common.listed(step, listing)

    def _read(self, step: str, name: str) -> Optional[Dict[str, Any]]:
        return _doc(self.rclone.run(step, ["cat", f"{self.folder}/{name}"], NOT_FOUND))

    def _owners(self) -> Tuple[Dict[str, int], List[Dict[str, Any]]]:
        """The folder's objects, and the claim and manifest among them."""
        # The listing first: a claim or manifest it shows is there to be read after it.
        objects = self._list("list the run folder")
        claimed, manifest = self.rclone.run_all([
            ("read the folder's claim", ["cat", f"{self.folder}/{CLAIM}"], NOT_FOUND),
            ("read the folder's manifest", ["cat", f"{self.folder}/{MANIFEST}"], NOT_FOUND),
        ])  # fmt: skip
        return objects, [doc for doc in (_doc(claimed), _doc(manifest)) if doc is not None]

    def claim(self, replace: bool) -> None:
        """Refuse another job's folder (unless ``replace``), then write the claim and drop ``_SUCCESS``."""
        objects, owners = self._owners()
        if objects and not owners:  # another run may be writing its claim this very moment: look again
            time.sleep(SETTLE_SECONDS)
            objects, owners = self._owners()
        if objects and not owners:
            example = sorted(objects)[0]
            raise common.Fail(
                f"{self.folder} holds {len(objects)} objects that no run wrote (e.g. {example!r}); a run "
                "never writes into, or deletes, other data: choose another output path or request id"
            )
        other = next((doc for doc in owners if not same_job(doc, self.job)), None)
        if other is not None and not replace:
            raise common.Fail(
                f"{self.folder} holds the work of another job ({describe(other)}); this run "
                f"({describe({'run': self.me, **self.job})}) leaves it alone. Use another request id, or "
                "set replaceOutput: true on the InferenceJob to replace it"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, CLAIM)
            common.write_json(path, {"run": self.me, **self.job})
            self.rclone.run("claim the run folder", ["copyto", path, f"{self.folder}/{CLAIM}"])
        self.rclone.run(
            "remove the old success marker", ["deletefile", f"{self.folder}/{SUCCESS}"], NOT_FOUND
        )

    def check(self, step: str) -> None:
        """Fail unless the claim is still this run's: another run claimed the folder since."""
        doc = self._read(f"{step}: read the claim", CLAIM) or {}
        if doc.get("run") != self.me:
            raise common.Fail(
                f"{step}: {self.folder} was claimed by run {doc.get('run', '?')!r} while run {self.me!r} "
                f"wrote it; that run owns the folder now, this one stops without {SUCCESS}"
            )

    def settle(self, expected: Dict[str, int]) -> int:
        """Delete what the folder holds beyond ``expected``: earlier attempts of this job, or the work of the
        job this one replaces (the claim allowed only those). Returns how many objects went."""
        self.check("remove stale files")
        keep = {common.fold(name) for name in (*expected, CLAIM, MANIFEST, SUCCESS)}
        stale = sorted(name for name in self._list("list the run folder") if common.fold(name) not in keep)
        if stale:
            with tempfile.TemporaryDirectory() as tmp:
                names = os.path.join(tmp, "stale.txt")
                with open(names, "wb") as fh:
                    fh.write("".join(name + "\n" for name in stale).encode("utf-8"))
                self.rclone.run("remove stale files", ["delete", self.folder, "--files-from-raw", names])
        return len(stale)

    def verify(self, expected: Dict[str, int]) -> None:
        """Fail unless the folder holds exactly ``expected`` (names and sizes), the claim and no marker."""
        self.check("check the run folder")
        found = {common.fold(name): size for name, size in self._list("list the run folder").items()}
        found.pop(CLAIM, None)
        wanted = {common.fold(name): size for name, size in expected.items()}
        missing = sorted(set(wanted) - set(found))
        extra = sorted(set(found) - set(wanted))
        changed = sorted(name for name in set(wanted) & set(found) if wanted[name] != found[name])
        if missing or extra or changed:
            first = (missing or extra or changed)[0]
            raise common.Fail(
                f"{self.folder} does not match its manifest ({len(missing)} missing, {len(extra)} "
                f"unexpected, {len(changed)} of another size, e.g. {first!r}): another run wrote into it; "
                f"no {SUCCESS}"
            )
