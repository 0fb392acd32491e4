"""Support for moving from other RQ schedulers, storing hasched schedules.

`hasched.compat.rq_scheduler.Scheduler` stands in for `rq_scheduler.Scheduler`;
`hasched.compat._migrate` imports rq-scheduler's scheduled jobs (`hasched import-rq-scheduler`).
"""
