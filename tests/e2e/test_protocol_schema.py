"""The Python schema that validates the listener's messages in these tests agrees with the
sample messages the Rust golden tests check (protocol/samples/)."""

import copy

import pytest

from pacer_testbed.protocol_schema import PAYLOADS, samples, validate

SAMPLES = samples()


def test_there_is_a_sample_of_every_event():
    assert sorted(message["event_type"] for message in SAMPLES.values()) == sorted(PAYLOADS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_is_valid(name):
    assert validate(SAMPLES[name]) == []


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_missing_or_mistyped_field_is_named(name):
    message = SAMPLES[name]
    field = sorted(message["payload"])[0]
    missing = copy.deepcopy(message)
    del missing["payload"][field]
    assert any(field in error for error in validate(missing)), validate(missing)
    mistyped = copy.deepcopy(message)
    mistyped["payload"][field] = [None]
    assert any(field in error for error in validate(mistyped)), validate(mistyped)
