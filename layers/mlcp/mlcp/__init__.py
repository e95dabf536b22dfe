"""mlcp runtime: the domain package that ships to Lambda as a layer.

Small on purpose: pydantic models of the events we consume, the audit trail, use cases and
their AWS adapters. No CLI, no emulator, no sagemaker SDK.
"""

__version__ = "0.1.0"
