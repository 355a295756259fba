"""Checkpoint converters between the reference implementations' layouts and
ours (torch only; the command lines are ``tools/model_converters/*``)."""
from . import granzsl, mkt, taidpt

__all__ = ['granzsl', 'mkt', 'taidpt']
