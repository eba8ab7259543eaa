from edn_core.cqrs.messages import CommandResult, Outcome
from edn_core.cqrs.problems import PROBLEM_CONTENT_TYPE, _flatten, problem_for_result


def test_nested_errors_flatten_to_paths():
    errors = {
        "firstName": ["Required."],
        "shippingAddress": {"city": ["Blank."], "postalCode": ["Required."]},
        "items": [{}, {"quantity": ["Too small."]}],
        "lines": {2: {"price": ["Negative."]}},
        "non_field_errors": ["Whole body."],
    }
    assert _flatten(errors) == {
        "firstName": ["Required."],
        "shippingAddress.city": ["Blank."],
        "shippingAddress.postalCode": ["Required."],
        "items[1].quantity": ["Too small."],
        "lines[2].price": ["Negative."],
        "": ["Whole body."],
    }


def test_outcomes_map_to_statuses_once():
    expected = {
        Outcome.INVALID: 400,
        Outcome.NOT_FOUND: 404,
        Outcome.CONFLICT: 409,
        Outcome.INVALID_STATE: 409,
        Outcome.PRECONDITION_FAILED: 412,
    }
    for outcome, status in expected.items():
        response = problem_for_result(CommandResult(outcome, message="why"))
        assert response.status_code == status
        assert response.data["status"] == status
        assert response.data["detail"] == "why"
        assert response.content_type == PROBLEM_CONTENT_TYPE


def test_domain_field_paths_become_api_names():
    result = CommandResult(Outcome.INVALID, errors={"shipping_address.postal_code": ["Blank."]})
    assert problem_for_result(result).data["errors"] == {"shippingAddress.postalCode": ["Blank."]}
