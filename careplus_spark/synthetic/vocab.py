"""Fixed vocabularies of the synthetic sources: names, categories, services, texts.

Tables used in the log hot loop have power-of-two lengths so that an index can be cut
from random bits; repeated entries act as weights.
"""

from __future__ import annotations

from collections.abc import Mapping

# --- tickets -------------------------------------------------------------------------

AGENTS: tuple[str, ...] = (
    "Alice Johnson",
    "Brian Smith",
    "Chinedu Okafor",
    "Diana Lopez",
    "Emeka Nwosu",
    "Fatima Bello",
    "George Mensah",
    "Hannah Lee",
    "Ibrahim Musa",
    "Julia Chen",
    "Kwame Asante",
    "Laura Martins",
)

ISSUE_CATEGORIES: tuple[str, ...] = (
    "Billing",
    "Technical Issue",
    "Account Access",
    "Payment Failure",
    "Refund Request",
    "Login Problem",
    "Product Inquiry",
    "Service Outage",
)

CHANNELS: tuple[str, ...] = ("Chat", "Phone", "Web Form", "Email")
PRIORITIES: tuple[str, ...] = ("High", "Medium", "Medium", "Low", "Low")
MISSPELT_PRIORITY: Mapping[str, str] = {"High": "Hgh", "Medium": "Medum", "Low": "Lw"}
OPEN_STATUSES: tuple[str, ...] = ("Open", "Open", "Open", "Escalated")
CLOSED_STATUSES: tuple[str, ...] = ("Resolved", "Resolved", "Resolved", "Closed")
INVALID_INTERACTIONS: tuple[str, ...] = ("-999999", "-999999", "n/a", "N/A", "unknown", "none")
ZERO_DATE = "0000-00-00 00:00:00"
#: Garbage created_at text; the last two look like dates but are not (30 February, hour 25).
UNPARSEABLE_DATES: tuple[str, ...] = (
    "not a date", "TBD", "n/a", "##########", "yesterday", "2025-02-30 10:00:00", "2025-07-01 25:00:00",
)

FEEDBACK_ASCII: tuple[str, ...] = (
    "Customer satisfied with the resolution",
    "Issue escalated to tier 2 support",
    "Awaiting customer response",
    "Resolved after password reset",
    "Refund processed, customer informed",
    "Customer frustrated with the wait time",
    "Follow-up call scheduled",
    "Duplicate of an earlier ticket",
    "Great experience, quick fix",
    "Needs engineering input",
)

FEEDBACK_NON_ASCII: tuple[str, ...] = (
    "Très bon service 👍",
    "Cliente satisfecho — problema resuelto ✅",
    "Kunde war sehr zufrieden 😊",
    "Waited too long 😡",
    "Résolu après réinitialisation du mot de passe",
    "Paiement reçu, merci 🙏",
    "Atendimento em São Paulo, ótimo",
    "日本語でのサポートを希望",
)

# --- logs ----------------------------------------------------------------------------

SERVICES: tuple[str, ...] = (
    "careplus.support.GenericService",
    "careplus.support.TicketService",
    "careplus.support.AuthService",
    "careplus.support.PaymentService",
    "careplus.support.NotificationService",
    "careplus.support.SearchService",
    "careplus.support.UserService",
    "careplus.support.ChatService",
)

#: Four event types per service (same order as SERVICES).
EVENT_TYPES: tuple[tuple[str, ...], ...] = (
    ("generic_event", "generic_event", "heartbeat", "health_check"),
    ("ticket_created", "ticket_updated", "ticket_assigned", "ticket_closed"),
    ("login_success", "login_failed", "token_refresh", "logout"),
    ("payment_initiated", "payment_processed", "payment_failed", "refund_issued"),
    ("email_sent", "sms_sent", "push_sent", "notification_failed"),
    ("search_query", "search_query", "search_no_results", "index_refresh"),
    ("profile_viewed", "profile_updated", "password_reset", "account_locked"),
    ("chat_started", "message_sent", "message_received", "chat_ended"),
)

#: Message text before " for <TicketID>"; generic_event keeps the seed's " event" quirk.
MESSAGES: Mapping[str, str] = {
    "generic_event": " event",
    "heartbeat": "Heartbeat",
    "health_check": "Health check",
    "ticket_created": "Ticket created",
    "ticket_updated": "Ticket updated",
    "ticket_assigned": "Ticket assigned",
    "ticket_closed": "Ticket closed",
    "login_success": "Login succeeded",
    "login_failed": "Login failed",
    "token_refresh": "Token refreshed",
    "logout": "Logout",
    "payment_initiated": "Payment initiated",
    "payment_processed": "Payment processed",
    "payment_failed": "Payment failed",
    "refund_issued": "Refund issued",
    "email_sent": "Email sent",
    "sms_sent": "SMS sent",
    "push_sent": "Push notification sent",
    "notification_failed": "Notification failed",
    "search_query": "Search performed",
    "search_no_results": "Search returned no results",
    "index_refresh": "Index refreshed",
    "profile_viewed": "Profile viewed",
    "profile_updated": "Profile updated",
    "password_reset": "Password reset",
    "account_locked": "Account locked",
    "chat_started": "Chat started",
    "message_sent": "Message sent",
    "message_received": "Message received",
    "chat_ended": "Chat ended",
}

MESSAGES_NON_ASCII: tuple[str, ...] = (
    "Paiement refusé ❌",
    "Búsqueda completada",
    "Benachrichtigung gesendet 📧",
    "Connexion réussie ✅",
    "Ticket mis à jour 🎫",
    "Zahlung fehlgeschlagen",
    "Sessão iniciada 👋",
    "Requête traitée 🚀",
)

DEBUG_ASCII: tuple[str, ...] = (
    "Logged for monitoring",
    "Cache hit",
    "Cache miss",
    "Retry scheduled",
    "Request validated",
    "Slow query detected",
    "Token refreshed",
    "Upstream call completed",
)

DEBUG_NON_ASCII: tuple[str, ...] = (
    "ℹ️ Logged for monitoring",  # noqa: RUF001 - the seed's own text
    "⚠️ Retry scheduled",
    "✅ Request validated",
    "🔥 Slow query detected",
    "🐢 Latence élevée en amont",
    "❌ Échec de la requête",
    "📨 Nachricht zugestellt",
    "🔁 Reintento programado",
)

USER_AGENTS: tuple[str, ...] = (
    "PostmanRuntime/7.32.2",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "okhttp/4.12.0",
    "CarePlusMobile/3.4.1 (Android 14)",
)

#: Sixteen entries: INFO 9/16, DEBUG 3/16, WARNING 2/16, ERROR 2/16.
LEVELS: tuple[str, ...] = ("INFO",) * 9 + ("DEBUG",) * 3 + ("WARNING",) * 2 + ("ERROR",) * 2

DIRTY_LEVELS: Mapping[str, tuple[str, ...]] = {
    "INFO": ("INF0", "INF0", "info", "Info"),
    "DEBUG": ("DEBG", "DEBG", "debug", "Debug"),
    "WARNING": ("warnING", "warnING", "warning", "Warning"),
    "ERROR": ("EROR", "EROR", "error", "Error"),
}

#: Probability that Error=true, by canonical level.
ERROR_TRUE_RATE: Mapping[str, float] = {"INFO": 0.0, "DEBUG": 0.0, "WARNING": 0.1, "ERROR": 0.95}

EXTRA_LINES: tuple[str, ...] = (
    'Extra="unexpected field"',
    "Stacktrace=java.lang.NullPointerException at careplus.support.TicketService.load",
    "Retry=1",
    'Note="multi-line message continued"',
)
