"""`python -m hasched`."""

from hasched.cli import main

raise SystemExit(main())
