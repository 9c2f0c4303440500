"""Service registries from a services file (registry_from_spec / registry_from_file)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from rules_engine.services import (
    SERVICES_SPEC_SCHEMA,
    HttpServiceAdapter,
    ServiceRef,
    UnboundService,
    registry_from_file,
    registry_from_spec,
)
from rules_engine.services.simulated import SimulatedKYCService, SimulatedSanctionsService

EXAMPLE = {
    "defaults": {"type": "simulated", "latency_ms": 0, "failure_rate": 0.0, "seed": 0},
    "bindings": {
        "KYCService:jumio": {
            "type": "http",
            "url": "http://127.0.0.1:9000/kyc",
            "timeout_seconds": 5,
            "secret_env": "JUMIO_API_KEY",
        },
        "SanctionsService:worldcheck": {"type": "simulated", "latency_ms": 50},
    },
}


def test_services_spec_schema__checked__valid_draft_2020_12():
    # Given the services-file schema; Then it is a valid draft 2020-12 schema
    Draft202012Validator.check_schema(SERVICES_SPEC_SCHEMA)


def test_registry_from_spec__brief_example__binds_http_and_simulated():
    # Given the documented example
    registry = registry_from_spec(EXAMPLE)
    # Then the named bindings are what the file says, and other names fall back to simulated
    kyc = registry.resolve(ServiceRef("KYCService", "jumio"))
    sanctions = registry.resolve(ServiceRef("SanctionsService", "worldcheck"))
    other = registry.resolve(ServiceRef("KYCService", "onfido"))
    assert (
        isinstance(kyc, HttpServiceAdapter) and kyc.timeout_seconds == 5 and kyc.secret_env == "JUMIO_API_KEY"
    )
    assert isinstance(sanctions, SimulatedSanctionsService) and sanctions.latency_ms == 50
    assert isinstance(other, SimulatedKYCService) and other.latency_ms == 0


def test_registry_from_spec__simulated_binding__inherits_default_failure_rate_and_seed():
    # Given simulated binding; When registry from spec runs; Then it inherits default failure rate and seed
    spec = {
        "defaults": {"failure_rate": 0.2, "seed": 3},
        "bindings": {"service:KYCService:x": {"type": "simulated", "latency_ms": 1}},
    }
    adapter = registry_from_spec(spec).resolve(ServiceRef("KYCService", "x"))
    assert (adapter.failure_rate, adapter.seed, adapter.latency_ms) == (0.2, 3, 1)


def test_registry_from_spec__defaults_none__leaves_other_references_unbound():
    # Given defaults none; When registry from spec runs; Then it leaves other references unbound
    registry = registry_from_spec(
        {"defaults": {"type": "none"}, "bindings": {"KYCService:jumio": {"type": "simulated"}}}
    )
    assert registry.is_bound(ServiceRef("KYCService", "jumio"))
    assert not registry.is_bound(ServiceRef("KYCService", "other"))
    with pytest.raises(UnboundService):
        registry.resolve(ServiceRef("CreditBureau", "experian"))


def test_registry_from_spec__empty__is_all_simulated():
    # Given empty; When registry from spec runs; Then it is all simulated
    assert registry_from_spec({}).is_bound(ServiceRef("AuditService", "primary"))


@pytest.mark.parametrize(
    "spec,expected",
    [
        (
            {"bindings": {"KYCService:jumio": {"type": "http"}}},
            "/bindings/KYCService:jumio: 'url' is a required property",
        ),
        (
            {"bindings": {"KYCService:jumio": {"type": "http", "url": "ftp://x"}}},
            "/bindings/KYCService:jumio/url",
        ),
        ({"bindings": {"KYCServce:jumio": {"type": "simulated"}}}, "unknown interface 'KYCServce'"),
        ({"bindings": {"no-colon": {"type": "simulated"}}}, "does not match"),
        ({"bindings": {"KYCService:a": {"type": "carrier-pigeon"}}}, "/bindings/KYCService:a/type"),
        ({"bindings": {"KYCService:a": {"type": "simulated", "url": "http://x"}}}, "Additional properties"),
        ({"defaults": {"failure_rate": 2}}, "/defaults/failure_rate"),
        ({"defaults": {"type": "http"}}, "/defaults/type"),
        ({"bindngs": {}}, "Additional properties"),
        ([], "is not of type 'object'"),
    ],
)
def test_registry_from_spec__malformed__raises_value_error_naming_the_place(spec, expected):
    # Given malformed; When registry from spec runs; Then it raises value error naming the place
    with pytest.raises(ValueError) as caught:
        registry_from_spec(spec)
    assert str(caught.value).startswith("invalid services spec:")
    assert expected in str(caught.value)


def test_registry_from_spec__several_problems__are_all_reported():
    # Given several problems; When registry from spec runs; Then it are all reported
    spec = {
        "defaults": {"latency_ms": -1},
        "bindings": {"KYCService:a": {"type": "http"}, "Nope:b": {"type": "simulated"}},
    }
    with pytest.raises(ValueError) as caught:
        registry_from_spec(spec)
    assert len(str(caught.value).splitlines()) == 4


def test_registry_from_file__json_and_yaml__load_the_same(tmp_path):
    # Given json and yaml; When registry from file runs; Then it load the same
    json_file = tmp_path / "services.json"
    json_file.write_text(json.dumps(EXAMPLE))
    yaml_file = tmp_path / "services.yaml"
    yaml_file.write_text(
        "bindings:\n  KYCService:jumio:\n    type: http\n    url: http://127.0.0.1:9000/kyc\n"
    )
    assert isinstance(
        registry_from_file(json_file).resolve(ServiceRef("KYCService", "jumio")), HttpServiceAdapter
    )
    assert isinstance(
        registry_from_file(yaml_file).resolve(ServiceRef("KYCService", "jumio")), HttpServiceAdapter
    )


def test_registry_from_file__unreadable_or_invalid__raises_value_error(tmp_path):
    # Given unreadable or invalid; When registry from file runs; Then it raises value error
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        registry_from_file(bad)
    with pytest.raises(ValueError, match="cannot read services file"):
        registry_from_file(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "text",
    [
        "bindings: [\n",  # YAML syntax
        "bindings: {a: *missing}\n",  # an alias to nothing
        "defaults: {seed: 2024-13-45}\n",  # a date that is no date (ValueError from the constructor)
    ],
)
def test_registry_from_file__invalid_yaml__raises_value_error(tmp_path, text):
    # Given a YAML services file that cannot be parsed
    bad = tmp_path / "services.yaml"
    bad.write_text(text)
    # When it is read; Then ValueError says so
    with pytest.raises(ValueError, match="is not valid YAML"):
        registry_from_file(bad)


def test_registry_from_spec__http_retries__passed_to_the_adapter():
    from rules_engine.services import registry_from_spec
    from rules_engine.services.registry import parse_service_ref

    registry = registry_from_spec(
        {
            "bindings": {
                "KYCService:jumio": {
                    "type": "http",
                    "url": "https://kyc.example.com",
                    "timeout_seconds": 1,
                    "retries": 2,
                }
            }
        }
    )
    adapter = registry.resolve(parse_service_ref("service:KYCService:jumio"))
    assert (adapter.retries, adapter.longest_call_seconds()) == (2, 1 * 3 + 0.2 + 0.4)
