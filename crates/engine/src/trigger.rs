//! Webhook triggers: alert fields → indicators → one action (placeholder until built).
