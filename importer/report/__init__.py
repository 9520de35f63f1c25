"""The report of a run: the files a person acts on and a cron job checks, and the typed run summary.

``files`` writes the private report directory (``rejected.csv``, ``failed.csv``, ``errors.jsonl``,
``payloads.jsonl``, ``summary.json``); ``summary`` declares the run summary of each kind of command;
``html_page`` renders ``report.html`` from the directory alone, with ``charts``, ``reject_groups`` and
``outcome`` (the outcome in words, shared with the cron line).
"""
