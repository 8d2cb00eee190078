"""Branches, commits, tags, drafts and the content-addressed file tree (issue #4)."""
