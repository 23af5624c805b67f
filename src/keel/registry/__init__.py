"""The model registry: versions, gates, approvals and the release history.

Pure domain code. A model version is the immutable record of a trained run; a gate result is
the evidence a policy asked for; a release says which versions serve which traffic, and every
change to it is a new row whose parent is the previous one, so rollback is "back to the parent".
"""

from keel.registry.approvals import Approval, Promotion, PromotionRequest, RequestStatus
from keel.registry.gates import GateCheck, GateResult
from keel.registry.policy import (
    GateSpec,
    LatencyGate,
    MetricGate,
    NonInferiorityGate,
    ReleasePolicy,
    SignatureGate,
    WorstSliceGate,
)
from keel.registry.releases import Release, ReleaseState
from keel.registry.signature import InputField, Signature
from keel.registry.versions import ModelVersion, parse_version_ref

__all__ = [
    "Approval",
    "GateCheck",
    "GateResult",
    "GateSpec",
    "InputField",
    "LatencyGate",
    "MetricGate",
    "ModelVersion",
    "NonInferiorityGate",
    "Promotion",
    "PromotionRequest",
    "Release",
    "ReleasePolicy",
    "ReleaseState",
    "RequestStatus",
    "Signature",
    "SignatureGate",
    "WorstSliceGate",
    "parse_version_ref",
]
