"""Each dialect's paginator and its mapping of parameter errors to codes."""

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from project import errors
from project.api import aidmp, graviti, institution, tensorbay, whalerun
from project.api.errors import normalise

ITEMS = list(range(1, 131))


def query(**params: object) -> Request:
    return Request(APIRequestFactory().get("/", params))


class Listing:
    list_key = "datasets"


@pytest.mark.parametrize(
    ("pagination", "keys"),
    [
        (tensorbay.TensorBayPagination, ("recordSize", "totalCount")),
        (graviti.GravitiPagination, ("record_size", "total_count")),
    ],
)
@pytest.mark.parametrize(
    ("offset", "limit", "size"), [(0, 128, 128), (128, 128, 2), (128, 2, 2), (130, 5, 0), (0, 1, 1)]
)
def test_sdk_pages_hold_exactly_what_the_total_promises(
    pagination: type, keys: tuple[str, str], offset: int, limit: int, size: int
) -> None:
    paginator = pagination()
    page = paginator.paginate_queryset(ITEMS, query(offset=offset, limit=limit), Listing())
    body = paginator.get_paginated_response(page).data
    assert body == {"datasets": ITEMS[offset : offset + limit], "offset": offset, keys[0]: size, keys[1]: 130}


@pytest.mark.parametrize("pagination", [tensorbay.TensorBayPagination, graviti.GravitiPagination])
@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 129}, {"limit": "x"}, {"offset": -1}, {"offset": "1.5"}])
def test_sdk_paging_refuses_bad_values(pagination: type, params: dict) -> None:
    with pytest.raises(errors.Invalid):
        pagination().paginate_queryset(ITEMS, query(**params), Listing())


@pytest.mark.parametrize(
    ("pagination", "params"),
    [
        (tensorbay.TensorBayPagination, {"offset": 2**63 - 1}),
        (graviti.GravitiPagination, {"offset": 2**70}),
        (institution.InstitutionPagination, {"offset": 2**64}),
        (whalerun.WhaleRunPagination, {"page": 2**62}),
        (aidmp.AidmpPagination, {"page": 2**62, "page_size": 1000}),
        (aidmp.AidmpPagination, {"page_size": 2**70}),
    ],
)
def test_paging_past_what_a_database_offset_holds_is_refused(pagination: type, params: dict) -> None:
    with pytest.raises(errors.Invalid):
        pagination().paginate_queryset(ITEMS, query(**params), Listing())


def test_sdk_default_page_is_128() -> None:
    paginator = tensorbay.TensorBayPagination()
    assert len(paginator.paginate_queryset(ITEMS, query(), Listing())) == 128


def test_whalerun_pages_by_number_in_the_success_envelope() -> None:
    paginator = whalerun.WhaleRunPagination()
    page = paginator.paginate_queryset(ITEMS, query(page=2, per_page=50), Listing())
    body = paginator.get_paginated_response(page).data
    assert body == {"code": 0, "message": "Success", "data": {"datasets": ITEMS[50:100], "total": 130}}


@pytest.mark.parametrize("params", [{"per_page": 101}, {"per_page": 0}, {"page": 0}, {"page": "one"}])
def test_whalerun_bad_paging_is_1202(params: dict) -> None:
    with pytest.raises(errors.Invalid) as caught:
        whalerun.WhaleRunPagination().paginate_queryset(ITEMS, query(**params), Listing())
    request = APIRequestFactory().get("/api/datasets/")
    assert whalerun.DIALECT.error_body(normalise(caught.value), request)[1]["code"] == 1202


def test_aidmp_page_size_zero_returns_only_the_total() -> None:
    paginator = aidmp.AidmpPagination()
    page = paginator.paginate_queryset(ITEMS, query(page_size=0), Listing())
    assert paginator.get_paginated_response(page).data == {"datasets": [], "total": 130}


def test_aidmp_defaults_to_ten_and_allows_a_thousand() -> None:
    assert len(aidmp.AidmpPagination().paginate_queryset(ITEMS, query(), Listing())) == 10
    assert len(aidmp.AidmpPagination().paginate_queryset(ITEMS, query(page_size=1000), Listing())) == 130
    with pytest.raises(errors.Invalid):
        aidmp.AidmpPagination().paginate_queryset(ITEMS, query(page_size=1001), Listing())


def test_institution_pages_into_its_envelope() -> None:
    paginator = institution.InstitutionPagination()
    page = paginator.paginate_queryset(ITEMS, query(offset=20), Listing())
    body = paginator.get_paginated_response(page).data
    assert body == {"code": 0, "message": "调用成功", "datasetCount": 130, "datasets": ITEMS[20:40]}


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": "ten"}, 213), ({"limit": 101}, 214), ({"limit": 0}, 215), ({"limit": -3}, 215), ({"offset": "x"}, 216)],
)
def test_institution_paging_errors_have_the_seed_codes(params: dict, code: int) -> None:
    with pytest.raises(errors.Invalid) as caught:
        institution.InstitutionPagination().paginate_queryset(ITEMS, query(**params), Listing())
    request = APIRequestFactory().get("/api/v1/datasets")
    assert institution.DIALECT.error_body(normalise(caught.value), request) == (
        400,
        {"code": code, "message": institution.MESSAGES[code]},
    )


def test_institution_bad_type_is_208() -> None:
    request = APIRequestFactory().get("/api/v1/datasets")
    record = normalise(errors.Invalid("type", "must be one of 0, 1, 2, 3, 6"))
    assert institution.DIALECT.error_body(record, request)[1]["code"] == 208


@pytest.mark.parametrize(
    ("method", "error", "code"),
    [
        ("get", errors.Missing("ids"), 1201),
        ("get", errors.Invalid("ids", "not integers"), 1202),
        ("post", errors.Missing("title"), 1401),
        ("put", errors.Invalid("hidden", "not a boolean"), 1402),
        ("delete", errors.Missing("id"), 1601),
        ("delete", errors.Invalid("id", "not an integer"), 1602),
        ("post", errors.StorageObjectMissing(), 1430),
        ("post", errors.FilesInvalid(), 1431),
        ("put", errors.Forbidden(), 1103),
        ("put", errors.NotFound(), 1104),
    ],
)
def test_whalerun_codes_follow_the_seed_table(method: str, error: errors.DomainError, code: int) -> None:
    request = getattr(APIRequestFactory(), method)("/api/datasets/")
    status, body = whalerun.DIALECT.error_body(normalise(error), request)
    assert body == {"code": code, "message": whalerun.MESSAGES[code], "data": {}}
    assert 400 <= status < 500


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.Missing("name"), 400, "RequestParamsMissing"),
        (errors.Invalid("limit", "too_large"), 400, "InvalidParamsValue"),
        (errors.Unauthorized(), 401, "Unauthorized"),
        (errors.Forbidden(), 403, "AccessDenied"),
        (errors.NotAllowed(), 403, "Forbidden"),
        (errors.NotFound(), 404, "ResourceNotExist"),
        (errors.Conflict(), 409, "NameConflict"),
    ],
)
@pytest.mark.parametrize("dialect", [tensorbay.DIALECT, graviti.DIALECT])
def test_sdk_dialects_pair_statuses_with_registered_codes(
    dialect: object, error: errors.DomainError, status: int, code: str
) -> None:
    request = APIRequestFactory().get("/")
    assert dialect.error_body(normalise(error), request)[:1] == (status,)  # type: ignore[attr-defined]
    assert dialect.error_body(normalise(error), request)[1]["code"] == code  # type: ignore[attr-defined]


def test_graviti_unavailable_is_a_bare_503() -> None:
    status, body = graviti.DIALECT.error_body(normalise(errors.ServiceUnavailable()), APIRequestFactory().get("/"))
    assert status == 503 and "code" not in body


def test_throttling_sends_retry_after() -> None:
    response = tensorbay.DIALECT.render_error(normalise(errors.Throttled(retry_after=7)), APIRequestFactory().get("/"))
    assert (response.status_code, response["Retry-After"]) == (429, "7")
