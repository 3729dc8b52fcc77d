"""profiles: customer metrics, the serving projection and the profile service."""
