"""HTTP plumbing shared by every REST module: the typed route registry, errors, middlewares."""
