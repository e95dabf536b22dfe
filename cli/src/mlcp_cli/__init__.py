"""mlcp operator side: CLI, embedded emulator (local mode) and scenario runner."""
