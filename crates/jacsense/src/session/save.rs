//! Sessions saved and loaded (JSON), so that the rounds of `jacsense ask` / `tell` can
//! run days apart: the structure and settings, the options, every round's plan
//! ([`Plan::to_json`](crate::Plan::to_json), checked on loading) with what was told,
//! and what each row has become.
