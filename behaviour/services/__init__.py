"""Behaviour writes: recording events, refreshing the derived lists, retention, erasure."""
