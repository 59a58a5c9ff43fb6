"""Names vulture cannot see being used (scripts/lint.sh runs vulture with this file; keep it at zero findings).

Each group says who uses the names. Chat commands, dialogue steps, pydantic validators and SQLAlchemy event
hooks are skipped by decorator (``ignore_decorators`` in pyproject.toml). Dead code is deleted, not listed here.
"""

# ruff: noqa: B018, F821
_ = object()

# Used by the tests, the simulator or the benchmarks (outside vulture's paths on purpose: only production
# code is checked for dead code, and their own helpers are not).
ManualClock  # bot/clock.py
_.advance  # bot/clock.py ManualClock.advance
iso_date  # bot/commands.py converter
choice  # bot/commands.py converter
_.provide  # bot/context.py Services.provide: the API a feature or a test installs a replacement with
_.batches  # bot/claims.py counters read by tests
_.forced_reconnects  # bot/dingtalk/stream.py counter read by tests
_.misses  # storage/cache.py counter read by tests
_.template_names  # bot/replies.py: tests/core/test_templates.py renders every template
_.all_counties  # domain/regions.py
_.with_values  # domain/roster/model.py
_.to_dict  # domain/roster/model.py
_.from_dict  # domain/roster/model.py
_.local_day  # domain/scores/engine.py
_.lookback_plan  # domain/scores/engine.py
_.by_role  # storage/forms/roster_form.py
rows_of  # storage/forms/tables.py
_.holders_above  # storage/repositories/roster.py
_.all_totals  # storage/repositories/scores/queries.py
_.affected_until  # domain/scores/engine.py: the window property the engine tests pin down
_.nbytes  # storage/repositories/scores/state.py StateCache: bench/scores.py prints it, a test bounds it

# Columns written and read through the driver (COPY / executemany / raw SQL), not through the ORM.
ScoreEvent  # storage/models/scores.py: its table is created by the migrations and used by name
_.bucket  # storage/models/scores.py ScoreEvent
_.at_epoch  # storage/models/scores.py ScoreEvent

# Read by libraries: pydantic-settings, the DingTalk SDK, SQLAlchemy, openpyxl and python-docx attributes.
_.get_field_value  # bot/config.py pydantic-settings source
model_config  # pydantic
_.settings_customise_sources  # pydantic-settings
dotenv_settings  # pydantic-settings signature
file_secret_settings  # pydantic-settings signature
_.OPEN_CONNECTION_API  # bot/dingtalk/endpoint.py: SDK module constants
_.DINGTALK_OPENAPI_ENDPOINT  # bot/dingtalk/endpoint.py
process_query_key  # bot/dingtalk/openapi.py
_.process  # bot/dingtalk/stream.py: SDK callback handler
impl  # storage/models/base.py TypeDecorator
cache_ok  # storage/models/base.py TypeDecorator
_.process_bind_param  # storage/models/base.py TypeDecorator
_.process_result_value  # storage/models/base.py TypeDecorator
type_annotation_map  # storage/models/base.py DeclarativeBase
_.compress_type  # storage/forms/tables.py zipfile.ZipInfo
_.external_attr  # storage/forms/tables.py zipfile.ZipInfo
_.iter_chunk_size  # storage/sqlite_driver.py: aiosqlite.Cursor iteration (async for)
# openpyxl and python-docx layout and document properties (storage/forms/xlsx_io.py, docx_io.py)
_.orientation
_.page_height
_.page_width
_.left_margin
_.right_margin
_.bottom_margin
_.top_margin
_.space_after
_.space_before
_.alignment
_.height
_.number_format
_.paperSize
_.fitToWidth
_.fitToHeight
_.fitToPage
_.horizontalCentered
_.creator
_.author
_.last_modified_by
_.lastModifiedBy
_.modified
_.last_printed
_.revision
_.comments

# Columns and fields kept for the record (written, shown by SQL or in the audit trail, not read by the code).
error_ref  # bot/dispatcher.py Outcome
is_admin  # bot/incoming.py IncomingMessage (DingTalk's isAdmin)
report_ids  # domain/evaluation/checklist.py ChecklistItem
submitted_on  # domain/evaluation/model.py Report
sent_at  # storage/models/core.py
last_error  # storage/models/core.py
updated_at  # storage/models
decided_at  # storage/models
loaded_by  # storage/models/scores.py
loaded_at  # storage/models/scores.py
linked_at  # storage/models/scores.py
withdrawn_by  # storage/models/scores.py
_.updated_at
_.decided_at
_.linked_at
_.withdrawn_by

# Base schools (handlers/base_schools): columns kept for the record, and the benchmark's ceiling query.
visitor  # storage/models/base_schools.py BaseSpaceVisit (part of the primary key, grouped by in SQL text)
reported_by  # storage/models/base_schools.py BaseLessonReport
done_at  # storage/models/base_schools.py BaseAssessment
_.ceiling  # storage/repositories/base_schools.py: bench/base_schools.py

# Submission contacts (handlers/roster/submission.py): who last set them, kept for the record.
updated_by  # storage/models/submission.py SubmissionContact

# Columns written for the record (review task moves, catalogue corrections, the reminders' run log).
moved_to  # storage/models/review.py ReviewTask; handlers/review/verdicts.py
task_id  # storage/models/review.py CatalogueCorrection
ran_at  # storage/models/reminders.py
# Read by the storage contract tests (tests/core/test_storage.py).
_.is_handled  # storage/repositories/core.py InboxRepository
_.declined  # domain/review/stats.py ReviewerStats: shown in the stats, counted by the tests
