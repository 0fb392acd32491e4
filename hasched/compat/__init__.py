"""Drop-in replacements for other RQ schedulers' APIs, storing hasched schedules.

`hasched.compat.rq_scheduler.Scheduler` stands in for `rq_scheduler.Scheduler`.
"""
