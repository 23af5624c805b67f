"""The control-plane API answers errors with the same status table as the prediction service."""

from keel.serving.http_status import HTTP_STATUS, http_status

__all__ = ["HTTP_STATUS", "http_status"]
