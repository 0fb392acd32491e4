"""The Django app of hasched: only its management command and settings."""

from __future__ import annotations

from django.apps import AppConfig


class HaschedConfig(AppConfig):
    name = "hasched.contrib.django"
    label = "hasched"
    verbose_name = "hasched"
