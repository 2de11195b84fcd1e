"""Rule modules, one per tag; importing a module registers its rules (see `registry.all_rules`)."""
