"""hasched for Django projects (`pip install hasched[django]`).

Add `"hasched.contrib.django"` to `INSTALLED_APPS` and configure it in settings:

    HASCHED = {
        "REDIS_URL": "redis://localhost:6379/0",
        "NAMESPACE": "myproject",
        "SCHEDULES": [
            {"id": "nightly", "cron": "0 3 * * *", "timezone": "Europe/Paris", "func": "app.tasks.report"},
        ],
    }

Then `manage.py hasched <command>` runs any hasched command (`run`, `worker`, `status`,
`schedule list`, ...) with those settings as defaults, and `manage.py hasched sync` applies
`SCHEDULES` as `hasched sync` applies a schedule file (`--dry-run`, `--prune`).
"""
