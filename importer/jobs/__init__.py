"""The library's entry points, and everything that keeps state across a run or between runs.

``imports`` (``import_customers``, ``import_orders``), ``order_operations`` (``update_order_status``,
``delete_orders``), ``verify`` (``verify_customers``, ``verify_orders``) and ``run_history`` (``recent_runs``,
``retry_run``) are what the command line calls; ``second_pass`` prepares a run's partitions and
``sending`` overlaps it with the delivery; ``journal`` is the run journal (SQLite); ``platform_settings``
reads the platform's settings lists a run checks against.
"""
