"""Other vendors' wire formats over the same services: translation only, no rules."""
