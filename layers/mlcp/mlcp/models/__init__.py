"""The data models: what the domain decides over and the adapters read and write (ADR 0028)."""
