"""Give every tree of more than one metarange's worth of ranges its two levels (issue #19).

A tree written before trees had two levels lists all its ranges inline. This rewrites each such tree whose
ranges make more than one metarange into metarange pointers, points its commits at the new tree and deletes the
old one; entries, ranges, commit ids and diffs stay exactly as they were. Smaller trees are already in their
final form and keep their ids.

It is resumable: trees are converted a batch at a time, each batch in its own transaction, and a tree already
in its final form is left alone, so a run stopped halfway (a crash, a deploy cut short) loses nothing and the
next ``migrate`` carries on. Reversing it writes every tree back in the inline form, which the code before two
levels reads.

It uses the engine's own tree code (``versioning.trees``) and models rather than historical models: the
encoding is what is being migrated, and on a new database there is nothing to convert.
"""

from collections.abc import Callable
from typing import Any

from django.db import migrations, transaction

BATCH = 50


def convert_trees(convert: Callable[[Any], Any | None]) -> int:
    """Rewrite each tree ``convert`` gives a new form for (None: leave it); returns how many were rewritten."""
    from versioning.models import Commit, Tree
    from versioning.trees import tree_load, tree_save

    converted, after = 0, ""
    while True:
        tree_ids = list(Tree.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not tree_ids:
            return converted
        with transaction.atomic():
            for tree_id in tree_ids:
                content = convert(tree_load(tree_id))
                if content is None:
                    continue
                new_id = tree_save(content)
                if new_id != tree_id:
                    Commit.objects.filter(tree_id=tree_id).update(tree_id=new_id)
                    Tree.objects.filter(pk=tree_id).delete()
                converted += 1
        after = tree_ids[-1]


def two_levels(content: Any) -> Any | None:
    """The tree with its inline ranges grouped into metaranges, or None when it needs no change."""
    from dataclasses import replace

    from versioning.trees import ranges_build

    if content.inline is None:
        return None  # empty, or already two levels
    index = ranges_build(content.inline.refs)
    if len(index.nodes) == 1:
        return None  # fits one metarange: inline is its final form
    return replace(content, nodes=index.nodes, inline=None)


def inline(content: Any) -> Any | None:
    """The tree with its ranges listed inline, or None when they already are."""
    from dataclasses import replace

    from versioning.trees import inline_index

    if content.inline is not None or not content.nodes:
        return None
    index = inline_index(tuple(content.ranges()))
    return replace(content, nodes=index.nodes, inline=index.inline)


def forwards(apps: Any, schema_editor: Any) -> None:
    convert_trees(two_levels)


def backwards(apps: Any, schema_editor: Any) -> None:
    convert_trees(inline)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("versioning", "0012_metarange"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
