"""GDPR erasure and access requests over the lakehouse and the serving store (issue #7)."""
