"""cx-worker: the nightly batch worker for contact centres.

One folder per stage of the night, imports going one way (the CLI → `flows/` → these capabilities → the
contracts and the store):

- `ingest`     where contacts come from, and the night's pull after the watermark
- `redaction`  personal data out before any LLM sees a contact
- `guard`      prompt injection: neutralised on the way in, checked on the way out
- `drafting`   the after-call work one LLM call writes per contact
- `outcomes`   how each contact really ended (no LLM), repeats, corrections
- `delivery`   one note per contact in the CRM, exactly once
- `governance` the suite's verdict on a run, the report, review and audit
- `llm`        the client, the embedded server, prompts, rate limits
- `ops`        what ops see: progress and the run summary
- `cli`        the command line; `models`, `settings` and `store` are the contracts beneath them all.
"""
