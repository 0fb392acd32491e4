"""A minimal Django project using hasched: the app, and its schedules declared in settings."""

import os
from datetime import UTC, datetime

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["hasched.contrib.django"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

HASCHED = {
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
    "NAMESPACE": "mysite",
    # The fields of a schedule file's [[schedule]] tables. `manage.py hasched sync` applies them
    # (at every deploy, like migrate); unchanged ones are left alone, keeping their progress.
    "SCHEDULES": [
        {
            "id": "nightly-report",
            "cron": "0 3 * * *",
            "timezone": "Europe/Paris",
            "func": "mysite.tasks.report",
            "kwargs": {"fmt": "pdf"},
        },
        {"id": "poll-feeds", "every": 60, "func": "mysite.tasks.poll", "queue": "low", "overlap": "skip"},
        {"id": "launch", "at": datetime(2030, 1, 1, tzinfo=UTC), "func": "mysite.tasks.launch"},
    ],
}
