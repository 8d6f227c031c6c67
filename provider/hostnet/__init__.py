"""hostnet: Linux host networks applied over SSH."""
