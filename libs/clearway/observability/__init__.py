"""What SREs see: traces (tracing), figures (metrics), JSON logs (logs), health (health)."""
