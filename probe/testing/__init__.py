"""Helpers for testing code that uses probe without a network: a loopback chat server with fault injection."""

from probe.testing.server import FAULTS, ChatServer, FaultPlan, default_respondent

__all__ = ["FAULTS", "ChatServer", "FaultPlan", "default_respondent"]
