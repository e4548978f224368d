"""Anonymous visit events (searches, article views, feedback, contact flows) and their reading."""

from __future__ import annotations

from kb.insights.channels import CHANNELS, Channel
from kb.insights.events import (
    ContactFlowState,
    SearchRecord,
    add_feedback_comment,
    attach_flow_suggestions,
    close_flow_as_contacted,
    find_search,
    open_contact_flow,
    popular_article_keys,
    record_article_view,
    record_effort_score,
    record_feedback,
    record_flow_question,
    record_search,
    resolve_contact_flow,
    searches_before_contact,
    start_contact_flow,
)
from kb.insights.journey import JourneyStep, visit_journey
from kb.insights.redact import redact
from kb.insights.widget import WIDGET_EVENTS, record_widget_event

__all__ = [
    "CHANNELS",
    "Channel",
    "ContactFlowState",
    "JourneyStep",
    "SearchRecord",
    "close_flow_as_contacted",
    "add_feedback_comment",
    "attach_flow_suggestions",
    "find_search",
    "open_contact_flow",
    "popular_article_keys",
    "record_article_view",
    "record_effort_score",
    "record_feedback",
    "record_flow_question",
    "record_search",
    "redact",
    "resolve_contact_flow",
    "searches_before_contact",
    "start_contact_flow",
    "visit_journey",
    "WIDGET_EVENTS",
    "record_widget_event",
]
