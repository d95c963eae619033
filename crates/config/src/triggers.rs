//! `[[triggers]]`: webhooks a SIEM calls (`POST /hooks/<name>`), each authenticated by an
//! HMAC secret or a bearer token (references), mapping an alert to values through
//! [`ValueTemplate`]s and acting on one target.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference, non_empty_secret};
use crate::schedule::positive_duration;
use crate::targets::Action;
use crate::targets::{Settings, Target};
use crate::template::{ValueTemplate, is_field_name};

/// One `[[triggers]]` entry as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrigger {
    /// The trigger's name: it is called at `POST /hooks/<name>`.
    name: String,
    /// The target it blocks on (a `[[targets]]` name).
    target: String,
    /// What it does: `blocklist` or `response-block` (Vision One), `xdr-block` or `http`.
    #[schemars(with = "TriggerAction")]
    action: Action,
    /// The HMAC-SHA256 secret callers sign with; give it or `token`.
    #[schemars(with = "Option<crate::schema::SecretRef>")]
    secret: Option<String>,
    /// The bearer token callers send (`Authorization: Bearer ...`); give it or `secret`.
    #[schemars(with = "Option<crate::schema::SecretRef>")]
    token: Option<String>,
    /// With `secret`: the header carrying `sha256=<hex HMAC of "<timestamp>.<body>">`.
    #[schemars(extend("default" = SIGNATURE_HEADER))]
    signature_header: Option<String>,
    /// With `secret`: the header carrying the request's Unix time in seconds.
    #[schemars(extend("default" = TIMESTAMP_HEADER))]
    timestamp_header: Option<String>,
    /// With `secret`: how far the timestamp may be from now.
    #[schemars(with = "Option<crate::schema::Duration>", extend("default" = "5m"))]
    tolerance: Option<String>,
    /// The largest request body accepted, in bytes.
    #[schemars(range(min = 1, max = MAX_BODY_CEILING), extend("default" = MAX_BODY))]
    max_body: Option<usize>,
    /// How long a block lasts before iocsync lifts it (default: until lifted by hand).
    #[schemars(with = "Option<crate::schema::Duration>")]
    ttl: Option<String>,
    /// The blocked objects' description (default `iocsync trigger <name>`).
    description: Option<String>,
    /// With `xdr-block`: the `productId` sent with each block.
    #[schemars(extend("default" = "iocsync"))]
    product_id: Option<String>,
    /// Templates, each giving one value per alert: `$Field` names a key of `fields`
    /// (`"$SrcIP"`).
    values: Vec<String>,
    /// Field name → dotted path into the alert's JSON (`SrcIP = "alert.source.ip"`).
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

/// The actions a trigger may take ([`Action::triggered`]), for the schema.
enum TriggerAction {}

impl JsonSchema for TriggerAction {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TriggerAction".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<String> = Action::ALL
            .into_iter()
            .filter(|action| action.triggered())
            .map(Action::name)
            .collect();
        schemars::json_schema!({ "type": "string", "enum": names })
    }
}

/// Default signature header of an HMAC trigger.
pub const SIGNATURE_HEADER: &str = "X-Iocsync-Signature";

/// Default timestamp header of an HMAC trigger.
pub const TIMESTAMP_HEADER: &str = "X-Iocsync-Timestamp";

/// Default body size limit of a trigger: alerts are small.
pub const MAX_BODY: usize = 64 * 1024;

/// The largest body limit a trigger may set.
const MAX_BODY_CEILING: usize = 16 * 1024 * 1024;

/// How a trigger's caller proves who it is. Holds secret *references* only.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerAuth {
    /// `<signature_header>: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` plus
    /// `<timestamp_header>: <Unix seconds>`, within `tolerance` of now.
    Hmac {
        secret_ref: String,
        signature_header: String,
        timestamp_header: String,
        tolerance: Duration,
    },
    /// `Authorization: Bearer <token>`.
    Bearer { token_ref: String },
}

/// One webhook trigger (`POST /hooks/<name>`), validated.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub name: String,
    pub target: String,
    /// `Blocklist`, `ResponseBlock`, `XdrBlock` or `Http`.
    pub action: Action,
    pub auth: TriggerAuth,
    pub max_body: usize,
    /// How long a block lasts before iocsync lifts it.
    pub ttl: Option<Duration>,
    pub description: String,
    /// `productId` of XDR v2 blocks.
    pub product_id: String,
    /// Templates, each giving one indicator value per alert.
    pub values: Vec<ValueTemplate>,
    /// Placeholder name → dotted path into the alert JSON.
    pub fields: BTreeMap<String, String>,
    /// Position in the file, for key paths in errors.
    pub(crate) index: usize,
}

impl Trigger {
    /// Reads the HMAC secret or bearer token from the environment variable or file named.
    pub fn resolve_secret(&self) -> Result<SecretString, ConfigError> {
        let (key, reference) = match &self.auth {
            TriggerAuth::Hmac { secret_ref, .. } => ("secret", secret_ref),
            TriggerAuth::Bearer { token_ref } => ("token", token_ref),
        };
        non_empty_secret(format!("triggers[{}].{key}", self.index), reference)
    }
}

/// Validates `triggers[i]`, pushing every error; the trigger when there is none.
pub(crate) fn validate_trigger(
    i: usize,
    raw: RawTrigger,
    targets: &[Target],
    errors: &mut Vec<ConfigError>,
) -> Option<Trigger> {
    let path = format!("triggers[{i}]");
    let key = |name: &str| format!("{path}.{name}");
    let mut found = Vec::new();
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        found.push(invalid(
            key("name"),
            "use letters, digits, `-` and `_` only",
        ));
    }
    let target = targets.iter().find(|t| t.name == raw.target);
    if !raw.action.triggered() {
        found.push(invalid(
            key("action"),
            "expected \"blocklist\", \"response-block\", \"xdr-block\" or \"http\"",
        ));
    } else if let Some(target) = target
        && target.product() != raw.action.product()
    {
        found.push(invalid(
            key("action"),
            format!(
                "action {:?} does not apply to target `{}` ({:?})",
                raw.action,
                target.name,
                target.product()
            ),
        ));
    }
    if target.is_none() {
        found.push(invalid(
            key("target"),
            format!("no target `{}`", raw.target),
        ));
    }
    let auth = trigger_auth(&path, &raw)
        .map_err(|error| found.push(error))
        .ok();
    let max_body = raw.max_body.unwrap_or(MAX_BODY);
    if !(1..=MAX_BODY_CEILING).contains(&max_body) {
        found.push(invalid(
            key("max_body"),
            format!("expected 1 to {MAX_BODY_CEILING} bytes"),
        ));
    }
    let ttl = raw.ttl.as_deref().and_then(|text| {
        positive_duration(&key("ttl"), text)
            .map_err(|error| found.push(error))
            .ok()
    });
    if let Some(Target {
        name,
        settings: Settings::Http(http),
        ..
    }) = target
        && ttl.is_some()
        && raw.action == Action::Http
        && !http.can_remove()
    {
        found.push(invalid(
            key("ttl"),
            format!("target `{name}` has no `remove_payload`, so a block cannot be lifted"),
        ));
    }
    if raw.product_id.is_some() && raw.action != Action::XdrBlock {
        found.push(invalid(key("product_id"), "applies to xdr-block only"));
    }
    let product_id = raw.product_id.unwrap_or_else(|| "iocsync".to_owned());
    if product_id.trim().is_empty() {
        found.push(invalid(key("product_id"), "must not be empty"));
    }
    for (name, field_path) in &raw.fields {
        if !is_field_name(name) {
            found.push(invalid(
                key(&format!("fields.{name}")),
                "a field name is a letter or `_` followed by letters, digits and `_`",
            ));
        } else if field_path.split('.').any(str::is_empty) {
            found.push(invalid(
                key(&format!("fields.{name}")),
                "expected a dotted path such as \"alert.source.ip\"",
            ));
        }
    }
    let values = trigger_values(&path, &raw.values, &raw.fields, &mut found);
    let Some(auth) = auth.filter(|_| found.is_empty()) else {
        errors.extend(found);
        return None;
    };
    Some(Trigger {
        description: raw
            .description
            .unwrap_or_else(|| format!("iocsync trigger {}", raw.name)),
        name: raw.name,
        target: raw.target,
        action: raw.action,
        auth,
        max_body,
        ttl,
        product_id,
        values,
        fields: raw.fields,
        index: i,
    })
}

fn trigger_auth(path: &str, raw: &RawTrigger) -> Result<TriggerAuth, ConfigError> {
    let key = |name: &str| format!("{path}.{name}");
    let reference = |name: &str, value: &str| {
        if is_reference(value) {
            Ok(value.to_owned())
        } else {
            Err(invalid(key(name), INLINE_SECRET))
        }
    };
    match (&raw.secret, &raw.token) {
        (Some(secret), None) => {
            let header = |name: &str, given: &Option<String>, default: &str| {
                let header = given.clone().unwrap_or_else(|| default.to_owned());
                if header.is_empty()
                    || !header
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(invalid(
                        key(name),
                        "expected a header name (letters, digits, `-`)",
                    ));
                }
                Ok(header)
            };
            Ok(TriggerAuth::Hmac {
                secret_ref: reference("secret", secret)?,
                signature_header: header(
                    "signature_header",
                    &raw.signature_header,
                    SIGNATURE_HEADER,
                )?,
                timestamp_header: header(
                    "timestamp_header",
                    &raw.timestamp_header,
                    TIMESTAMP_HEADER,
                )?,
                tolerance: positive_duration(
                    &key("tolerance"),
                    raw.tolerance.as_deref().unwrap_or("5m"),
                )?,
            })
        }
        (None, Some(token)) => {
            for (name, given) in [
                ("signature_header", &raw.signature_header),
                ("timestamp_header", &raw.timestamp_header),
                ("tolerance", &raw.tolerance),
            ] {
                if given.is_some() {
                    return Err(invalid(
                        key(name),
                        "applies to `secret` (HMAC) triggers only",
                    ));
                }
            }
            Ok(TriggerAuth::Bearer {
                token_ref: reference("token", token)?,
            })
        }
        _ => Err(invalid(
            path,
            "give exactly one of `secret` (HMAC signature) and `token` (bearer)",
        )),
    }
}

/// The trigger's `values` templates, each using only fields `fields` names; every bad one is
/// pushed to `errors`.
fn trigger_values(
    path: &str,
    values: &[String],
    fields: &BTreeMap<String, String>,
    errors: &mut Vec<ConfigError>,
) -> Vec<ValueTemplate> {
    if values.is_empty() {
        errors.push(invalid(
            format!("{path}.values"),
            "give at least one template, such as [\"$SrcIP\"]",
        ));
    }
    let mut templates = Vec::new();
    for (j, text) in values.iter().enumerate() {
        let key = format!("{path}.values[{j}]");
        let template = ValueTemplate::parse(text);
        let names = template.fields();
        if names.is_empty() {
            errors.push(invalid(key, "uses no `$Field` placeholder"));
        } else if let Some(name) = names.iter().find(|name| !fields.contains_key(**name)) {
            errors.push(invalid(
                key,
                format!("uses `${name}`, but `fields` has no `{name}`"),
            ));
        } else {
            templates.push(template);
        }
    }
    templates
}
