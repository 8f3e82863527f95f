"""Test support: server processes, scripted MongoDB replies and an Ansible module runner."""
