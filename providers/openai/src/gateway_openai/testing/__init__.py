"""Test support of the openai plugin, importable by any test suite.

``from gateway_openai.testing.fake_upstream import create_app``: a fake upstream speaking the real wire format
under the echo protocol (:mod:`gateway_core.echo`).
"""
