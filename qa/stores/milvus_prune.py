"""Pruning a Milvus library (qa/stores/milvus_library.py) after a commit: rows no manifest of the last
KEEP_VERSIONS versions lists, and the manifests older than those, are deleted. A reader still loading the
previous version finds its rows; a writer killed before its commit leaves rows that the next prune removes."""

from __future__ import annotations

import json

from qa.stores.milvus_library import KEEP_VERSIONS, MilvusLibrary, doc_key


def prune(library: MilvusLibrary) -> int:
    """Delete rows no manifest of the last KEEP_VERSIONS versions lists, and those versions' elders."""
    commits = library.commits()
    if not commits:
        return 0
    keep_versions = sorted({c["version"] for c in commits}, reverse=True)[:KEEP_VERSIONS]
    listed: set[str] = set()
    files: set[str] = set()
    newest = {}
    for commit in sorted(commits, key=lambda c: (c["version"], c["writer"]), reverse=True):
        newest[commit["version"]] = commit  # the winner of each version: its lowest writer id
    for version in keep_versions:
        manifest = library.manifest_of(newest[version])
        if manifest:
            listed |= {doc_key(d, facts["hash"]) for d, facts in manifest["documents"].items()}
            files |= {facts["sha256"] for facts in manifest["files"].values()}
    removed = 0
    for kind in ("passages", "units", "documents"):
        stale = sorted(library.present_keys(kind) - listed)
        for start in range(0, len(stale), 100):
            listed_keys = ", ".join(json.dumps(k) for k in stale[start : start + 100])
            library.call(f"prune collection {library.name(kind)}", library.client.delete, library.name(kind), filter=f"doc_key in [{listed_keys}]")
        removed += len(stale)
    for sha in sorted(library.present_keys("files", "sha") - files):
        library.call("prune collection files", library.client.delete, library.name("files"), filter=f'sha == "{sha}"')
    oldest = min(keep_versions)
    library.call("prune the manifest", library.client.delete, library.name("manifest"), filter=f"version < {oldest}")
    return removed
