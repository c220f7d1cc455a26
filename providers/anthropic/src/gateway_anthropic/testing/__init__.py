"""Test support of the anthropic plugin, importable by any test suite.

``from gateway_anthropic.testing.fake_upstream import create_app``: a fake upstream speaking the real wire format
under the echo protocol (:mod:`gateway_core.echo`).
"""
