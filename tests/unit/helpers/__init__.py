"""Helpers the unit tests share; importable as ``ansible_collections.offsite.mongodb.tests.unit.helpers`` in pytest and ansible-test."""
