"""Air-gap bundles: a signed manifest of every artifact a factory needs from outside the site, the mirrors
filled from it, and the check that a mirror holds exactly what the manifest names (docs/bundle.md)."""
