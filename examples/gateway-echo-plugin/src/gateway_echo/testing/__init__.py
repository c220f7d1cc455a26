"""Test support of the echo plugin: ``from gateway_echo.testing.fake_upstream import create_app``."""
