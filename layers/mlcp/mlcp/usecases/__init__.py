"""Use cases: one module per thing the control plane does, each a function over injected adapters."""
