"""The control-plane REST API."""
