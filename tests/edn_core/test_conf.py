"""The platform's typed settings: read once, read again after any setting changed."""

import dataclasses

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from edn_core import schemas
from edn_core.bus.config import bus_config
from edn_core.conf import BusConfig, edn_settings
from edn_core.schema_client import HttpSchemaSource


def test_a_project_that_sets_nothing_gets_the_defaults():
    names = ["EDN_BUS", "EDN_SCHEMA_LATEST_TTL", "EDN_DAPR_MAX_BODY_BYTES", "APP_API_TOKEN"]
    with override_settings():
        for name in names:
            delattr(django_settings, name)
        edn_settings.cache_clear()  # deleting a setting sends no setting_changed
        current = edn_settings()
    edn_settings.cache_clear()
    assert current.bus == BusConfig() and current.schemas.latest_ttl == 60.0
    assert current.dapr.max_body_bytes == 4 * 1024 * 1024 and current.dapr.app_api_token == ""


def test_the_settings_are_read_once_and_again_after_a_change(settings):
    first = edn_settings()
    assert edn_settings() is first
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 2}
    settings.EDN_DAPR_PUBSUB = ""  # empty is the default component name
    settings.EDN_API_THROTTLE_RATE = "5/min"
    assert bus_config().max_attempts == 2 and edn_settings() is not first
    assert edn_settings().dapr.pubsub == "pubsub"
    assert edn_settings().api_throttle_rate == "5/min"


def test_they_cannot_be_changed_in_place():
    with pytest.raises(dataclasses.FrozenInstanceError):
        edn_settings().schemas.validation = False
    with pytest.raises(TypeError):
        edn_settings().dapr.subscription_metadata["x"] = "y"


def test_an_unknown_bus_setting_is_refused_when_read(settings):
    settings.EDN_BUS = {"max_attempt": 3}
    with pytest.raises(ValueError, match="unknown EDN_BUS settings \\['max_attempt'\\]"):
        bus_config()


def test_the_remote_schema_source_follows_the_registry_url(settings):
    settings.EDN_SCHEMA_REGISTRY_URL = "http://registry.example:8000/"
    schemas.install_local_source(None)
    try:
        remote = schemas.source()
        assert isinstance(remote, HttpSchemaSource)
        assert remote.base_url == "http://registry.example:8000"
        settings.EDN_SCHEMA_REGISTRY_URL = ""
        assert schemas.source() is None
    finally:
        from schema_registry.source import LocalSchemaSource

        schemas.install_local_source(LocalSchemaSource())
