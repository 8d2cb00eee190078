"""Hiding and featuring from the admin: one-click toggles, bulk actions with confirmation, and the log."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from datasets import services
from datasets.admin import DatasetAdmin, ModerationEventAdmin
from datasets.models import Dataset, ModerationEvent, User

CHANGELIST = reverse("admin:datasets_dataset_changelist")
LOG = reverse("admin:datasets_moderationevent_changelist")
# action: (flag, value before, value after)
ACTIONS = {
    "hide": ("hidden", False, True),
    "unhide": ("hidden", True, False),
    "feature": ("featured", False, True),
    "unfeature": ("featured", True, False),
}


def moderate_url(dataset: Dataset, action: str) -> str:
    return reverse("admin:datasets_dataset_moderate", args=[dataset.pk, action])


@pytest.mark.parametrize("action", ACTIONS)
def test_a_toggle_moderates_one_dataset_and_records_it(
    admin_client: Client, superuser: User, dataset: Dataset, action: str
) -> None:
    flag, before, after = ACTIONS[action]
    services.dataset_moderate(dataset=dataset, actor=None, flag=flag, value=before)
    ModerationEvent.objects.all().delete()

    answer = admin_client.post(moderate_url(dataset, action), {"next": f"{CHANGELIST}?q=cats"})

    dataset.refresh_from_db()
    event = ModerationEvent.objects.get()
    assert (answer.status_code, answer["Location"]) == (302, f"{CHANGELIST}?q=cats")
    assert getattr(dataset, flag) is after
    assert (event.dataset, event.actor, event.action, event.via) == (dataset, superuser, action, "admin")


def test_a_toggle_goes_back_only_to_this_site(admin_client: Client, dataset: Dataset) -> None:
    answer = admin_client.post(moderate_url(dataset, "hide"), {"next": "https://evil.example.com/"})

    assert answer["Location"] == CHANGELIST


def test_a_toggle_asks_first_when_opened_as_a_page(admin_client: Client, dataset: Dataset) -> None:
    answer = admin_client.get(moderate_url(dataset, "hide"), {"next": "/admin/"})

    dataset.refresh_from_db()
    assert answer.status_code == 200
    assert "Yes, hide" in answer.content.decode() and 'name="reason"' in answer.content.decode()
    assert not dataset.hidden and not ModerationEvent.objects.exists()


def test_the_single_confirmation_keeps_the_reason(admin_client: Client, dataset: Dataset) -> None:
    admin_client.post(moderate_url(dataset, "hide"), {"reason": " spam ", "next": "/admin/"})

    assert ModerationEvent.objects.get().reason == "spam"


def test_an_unknown_moderation_action_is_not_found(admin_client: Client, dataset: Dataset) -> None:
    assert admin_client.post(moderate_url(dataset, "delete")).status_code == 404


def test_toggling_to_the_current_state_records_nothing(admin_client: Client, dataset: Dataset) -> None:
    admin_client.post(moderate_url(dataset, "unhide"))

    assert not ModerationEvent.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_bulk_action_asks_for_confirmation_first(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset, action: str
) -> None:
    answer = admin_client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [dataset.pk, other_dataset.pk]})

    page = answer.content.decode()
    assert answer.status_code == 200
    assert f"Yes, {action}" in page and "vision-team/street-cats" in page and 'name="post" value="yes"' in page
    assert not ModerationEvent.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_confirmed_bulk_action_moderates_every_selected_dataset_with_the_reason(
    admin_client: Client, superuser: User, dataset: Dataset, other_dataset: Dataset, action: str
) -> None:
    flag, before, after = ACTIONS[action]
    for each in (dataset, other_dataset):
        services.dataset_moderate(dataset=each, actor=None, flag=flag, value=before)
    ModerationEvent.objects.all().delete()

    answer = admin_client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [dataset.pk, other_dataset.pk], "post": "yes", "reason": "review"},
        follow=True,
    )

    assert "2 dataset(s)" in answer.content.decode()
    assert set(Dataset.objects.values_list(flag, flat=True)) == {after}
    events = ModerationEvent.objects.all()
    assert {(event.dataset_id, event.action, event.actor, event.reason, event.via) for event in events} == {
        (each.pk, action, superuser, "review", "admin") for each in (dataset, other_dataset)
    }


def test_a_bulk_action_records_only_the_datasets_it_changes(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset
) -> None:
    services.dataset_moderate(dataset=dataset, actor=None, flag="hidden", value=True)

    admin_client.post(
        CHANGELIST, {"action": "hide", ACTION_CHECKBOX_NAME: [dataset.pk, other_dataset.pk], "post": "yes"}
    )

    assert list(ModerationEvent.objects.filter(via="admin").values_list("dataset__name", flat=True)) == ["poems"]


def test_a_bulk_action_applies_to_the_filtered_selection_only(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset
) -> None:
    admin_client.post(
        f"{CHANGELIST}?q=poems", {"action": "hide", ACTION_CHECKBOX_NAME: [dataset.pk, other_dataset.pk], "post": "yes"}
    )

    assert list(Dataset.objects.filter(hidden=True).values_list("name", flat=True)) == ["poems"]


def test_the_moderation_log_lists_and_filters_every_step(
    admin_client: Client, superuser: User, dataset: Dataset, other_dataset: Dataset
) -> None:
    services.dataset_moderate(dataset=dataset, actor=superuser, flag="hidden", value=True, reason="spam", via="admin")
    services.dataset_moderate(dataset=other_dataset, actor=None, flag="featured", value=True, via="api")

    page = admin_client.get(LOG).content.decode()
    assert "street-cats" in page and "poems" in page and "spam" in page
    hidden = admin_client.get(LOG, {"action__exact": "hide"}).context["cl"].result_list
    by_api = admin_client.get(LOG, {"via__exact": "api"}).context["cl"].result_list
    in_team = admin_client.get(LOG, {"dataset__workspace__id__exact": dataset.workspace_id}).context["cl"].result_list
    assert [event.dataset.name for event in hidden] == ["street-cats"]
    assert [event.dataset.name for event in by_api] == ["poems"]
    assert [event.dataset.name for event in in_team] == ["street-cats"]


def test_the_moderation_log_is_read_only(admin_client: Client, superuser: User, dataset: Dataset) -> None:
    services.dataset_moderate(dataset=dataset, actor=superuser, flag="hidden", value=True, reason="spam")
    event = ModerationEvent.objects.get()
    change = reverse("admin:datasets_moderationevent_change", args=[event.pk])

    assert admin_client.get(reverse("admin:datasets_moderationevent_add")).status_code == 403
    assert admin_client.post(change, {"reason": "edited"}).status_code == 403
    assert admin_client.get(reverse("admin:datasets_moderationevent_delete", args=[event.pk])).status_code == 403
    assert ModerationEvent.objects.get().reason == "spam"


def test_select_all_across_pages_hides_every_filtered_dataset(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DatasetAdmin, "list_per_page", 1)
    chosen = {"action": "hide", ACTION_CHECKBOX_NAME: [dataset.pk], "select_across": "1", "index": "0"}

    confirmation = admin_client.post(CHANGELIST, chosen).content.decode()
    chosen.pop("index")
    admin_client.post(CHANGELIST, {**chosen, "post": "yes"})

    assert "Hide 2 datasets?" in confirmation and 'name="select_across" value="1"' in confirmation
    assert set(Dataset.objects.values_list("hidden", flat=True)) == {True}


def test_a_page_of_the_log_costs_the_same_number_of_queries_whatever_its_size(
    admin_client: Client,
    superuser: User,
    dataset: Dataset,
    other_dataset: Dataset,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(10):
        for each in (dataset, other_dataset):
            services.dataset_moderate(dataset=each, actor=superuser, flag="hidden", value=not each.hidden)
    for per_page in (3, 20):
        monkeypatch.setattr(ModerationEventAdmin, "list_per_page", per_page)
        with django_assert_max_num_queries(10):
            answer = admin_client.get(LOG)
        assert len(answer.context["cl"].result_list) == per_page
