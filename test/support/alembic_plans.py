"""Alembic's own planner and version-row maintenance, run on revision graphs given as JSON.

Reads [{"revisions": [{"id", "down", "deps", "labels"}], "commands": [[verb, target], ...]}]
from stdin. Runs each case's commands in turn from an empty version table, with the same
functions `alembic upgrade/downgrade` use (ScriptDirectory._upgrade_revs/_downgrade_revs
call these RevisionMap methods), and prints per command the revisions in the order they
run and the rows left, or the error's class; and each revision's branch labels. No database: the rows are kept in a set by
Alembic's HeadMaintainer, whose SQL is replaced by nothing.
"""

import json
import sys
import warnings

from alembic.runtime.migration import HeadMaintainer, RevisionStep
from alembic.script.revision import Revision, RevisionMap


class Rows(HeadMaintainer):
    def __init__(self, heads):
        self.heads = set(heads)

    def _insert_version(self, version):
        assert version not in self.heads
        self.heads.add(version)

    def _delete_version(self, version):
        self.heads.remove(version)

    def _update_version(self, from_, to_):
        assert to_ not in self.heads
        self.heads.remove(from_)
        self.heads.add(to_)


def step(revision_map, revision, is_upgrade):
    s = RevisionStep.__new__(RevisionStep)
    s.revision_map = revision_map
    s.revision = revision
    s.is_upgrade = is_upgrade
    return s


def run(case):
    revisions = [
        Revision(
            r["id"],
            tuple(r["down"]) or None,
            dependencies=tuple(r["deps"]) or None,
            branch_labels=tuple(r["labels"]) or None,
        )
        for r in case["revisions"]
    ]
    revision_map = RevisionMap(lambda: revisions)
    rows = set()
    results = []
    for verb, target in case["commands"]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                current = tuple(sorted(rows))
                if verb == "upgrade":
                    revs = list(reversed(list(revision_map.iterate_revisions(target, current, implicit_base=True))))
                else:
                    revs = list(revision_map.iterate_revisions(current, target, select_for_downgrade=True))
                maintainer = Rows(rows)
                for rev in revs:
                    maintainer.update_to_step(step(revision_map, rev, verb == "upgrade"))
            rows = maintainer.heads
            results.append({"order": [r.revision for r in revs], "rows": sorted(rows)})
        except Exception as err:  # every failure is an outcome to compare, by its class
            results.append({"error": type(err).__name__, "message": str(err)})
    labels = {r.revision: sorted(revision_map.get_revision(r.revision).branch_labels) for r in revisions}
    return {"results": results, "labels": labels}


print(json.dumps([run(case) for case in json.load(sys.stdin)]))
