"""Helpers for testing code that uses probe without a network: a loopback chat server with fault injection,
and ``FakeProvider(fn)`` that turns any function into a model."""

from probe.testing.fake import FakeProvider
from probe.testing.server import FAULTS, ChatServer, FaultPlan, default_respondent

__all__ = ["FAULTS", "ChatServer", "FakeProvider", "FaultPlan", "default_respondent"]
