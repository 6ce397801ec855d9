"""The issue's life on the ladder.

- `intake`: reporting a problem, routed to the level of the project's tier (idempotent by key);
- `commands`: every action on an issue as a frozen dataclass; `runner.run` does any of them —
  load and lock, authorize, apply, record the event, queue the notices;
- `actions`: what each command does to the issue, and the registry;
- `context`: who acts and when (`Ctx`), what a command changed (`Change`);
- `deadlines`: the clocks' arithmetic; `sweep`: the clock watcher's commands;
- `retier`: re-routing when a project's investment crosses a tier.
"""
