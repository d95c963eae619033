//! Webhook triggers: `POST /hooks/NAME` (placeholder until built).
