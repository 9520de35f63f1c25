"""Delivery: records to the API over HTTP, every one of them to exactly one outcome.

``sender`` is the engine (concurrency, pacing, retries, the 401/403 abort, Ctrl-C); ``bulk`` (a chunk
of records per request, bad records isolated) and ``single`` (a request per record) are its two
siblings; ``outcomes`` is what they hand back; ``pacing``, ``problem_details``, ``chunk_queue``,
``timeline`` and ``event_log`` serve them. Nothing here reads files or knows what a record means
beyond building its request.
"""
