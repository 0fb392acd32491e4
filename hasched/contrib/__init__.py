"""Integrations with frameworks, each an optional extra: `hasched.contrib.django`."""
