"""Composite entries (fusion frames): stored beside plain entries in the same ranges, counted file by file."""

from datasets.models import Dataset, User
from tests.versioning.conftest import commit_frames, make_entry
from versioning import selectors, services
from versioning.trees import Entry, Part, RangeWriter, range_load, range_rows


def head(dataset: Dataset) -> selectors.Revision:
    return selectors.revision_resolve(dataset=dataset, revision="main")


def fusion(user: User) -> Dataset:
    return Dataset.objects.create(
        workspace=user.owned_workspaces.get(), name="drive", creator=user, kind=Dataset.Kind.FUSION
    )


def test_plain_entries_are_stored_as_before_parts_existed(db: None) -> None:
    writer = RangeWriter()
    writer.add(make_entry("s", "a.jpg"))
    writer.add(Entry.composite(segment="s", name="b", parts=[Part("CAM", "b.jpg", "k", "c" * 40, 3)]))
    [ref] = writer.finish()

    plain, composite = range_rows(ref.id)

    assert len(plain) == 6
    assert composite[6] == [["CAM", "b.jpg", "k", "c" * 40, 3, None, None]]
    assert range_load(ref.id)[1].part_list() == [Part("CAM", "b.jpg", "k", "c" * 40, 3)]


def test_a_commit_counts_every_file_of_its_frames(user: User) -> None:
    dataset = fusion(user)

    commit_frames(dataset, "seq1", frames=3)

    commit = head(dataset).commit
    assert commit is not None
    assert (commit.entry_count, commit.file_count, commit.file_counts) == (3, 6, {"seq1": 6})
    assert commit.total_size == sum(entry.size for entry in selectors.entry_list(revision=head(dataset)).items)


def test_file_counts_follow_deleted_frames_sensors_and_segments(user: User) -> None:
    dataset = fusion(user)
    commit_frames(dataset, "seq1", frames=3)
    commit_frames(dataset, "seq2", frames=2)
    draft = services.draft_create(dataset=dataset, title="edit")

    services.draft_frame_delete(draft=draft, segment="seq1", frame_id="01GZ6T7Y3C0000000000000000")
    services.draft_sensor_delete(draft=draft, segment="seq1", name="LIDAR")
    services.draft_segment_delete(draft=draft, name="seq2")
    commit = services.draft_commit(draft=draft, title="edit")

    assert (commit.entry_count, commit.file_count, commit.file_counts) == (2, 2, {"seq1": 2})


def test_a_normal_dataset_keeps_no_file_counts(dataset: Dataset) -> None:
    services.commit_import(dataset=dataset, entries=[make_entry("s", "a.jpg")], title="import")

    commit = head(dataset).commit
    assert commit is not None
    assert (commit.file_counts, commit.file_count) == (None, 1)
