"""Test support of the google plugin, importable by any test suite.

``from gateway_google.testing.fake_upstream import create_app``: a fake upstream speaking the real wire format
under the echo protocol (:mod:`gateway_core.echo`).
"""
