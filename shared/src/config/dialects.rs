//! `API_DIALECTS`: which wire contracts the HTTP edge answers (issue 12). The native API is one
//! dialect; the others speak a seed's routes, headers and error shapes over the same use cases.
//! A dialect that is asked for but whose settings are missing stays off and says so once, at
//! init; an unknown name is refused, naming the variable.

use sha2::{Digest, Sha256};

use super::{ConfigError, EdgeSettings, LinkSettings, Profile, env::Env};

/// The variable that lists the dialects.
pub const API_DIALECTS_VAR: &str = "API_DIALECTS";

/// One wire contract the edge may speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `/password-reset/*`: this service's own API.
    Native,
    /// Stack Auth's `/api/v1/auth/password/*` (seeds 000, 001).
    Stack,
    /// ProductFlame's `/v1/auth/reset-password` (seed 002).
    ProductFlame,
    /// The Supabase-style edge function's `/auth/send-password-reset` (seed 003).
    Supabase,
    /// Zitadel v2's `/v2/users/{userId}/password_reset` and `.../password` (seed 004).
    Zitadel,
}

impl Dialect {
    /// Every dialect, in the order `API_DIALECTS` documents them.
    pub const ALL: [Dialect; 5] = [
        Dialect::Native,
        Dialect::Stack,
        Dialect::ProductFlame,
        Dialect::Supabase,
        Dialect::Zitadel,
    ];

    /// The name `API_DIALECTS` uses.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Native => "native",
            Dialect::Stack => "stack",
            Dialect::ProductFlame => "productflame",
            Dialect::Supabase => "supabase",
            Dialect::Zitadel => "zitadel",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// What the Stack Auth dialect checks its callers against.
///
/// The publishable keys are kept as SHA-256 digests: compared in constant time, and no key is
/// ever in a `Debug` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    /// `STACK_PROJECT_ID`: the only `X-Stack-Project-Id` accepted.
    pub project_id: String,
    /// `STACK_PUBLISHABLE_CLIENT_KEYS`, each hashed: any one is accepted as
    /// `X-Stack-Publishable-Client-Key` (several, so a key can be rotated without downtime).
    pub publishable_client_keys_sha256: Vec<[u8; 32]>,
}

/// What the ProductFlame dialect checks its callers against: the native server key, sent raw
/// as `Authorization: <key>` (no `Bearer`). A digest, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFlameSettings {
    /// `SERVER_KEY_SHA256`, the same digest the native `Bearer` server key is checked against.
    pub server_key_sha256: [u8; 32],
}

/// What the Zitadel v2 dialect needs beyond the server key (which it checks as the native
/// server routes do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZitadelSettings {
    /// `ZITADEL_ORG_ID`: the answers' `details.resourceOwner` and the value of `{{.OrgID}}` in a
    /// `urlTemplate`. Unset: `resourceOwner` is empty and a template using `{{.OrgID}}` is
    /// refused (400), never filled with nothing.
    pub org_id: Option<String>,
}

/// The largest `ZITADEL_ORG_ID`: Zitadel's ids are 18-digit numbers.
const MAX_ORG_ID_CHARS: usize = 64;

/// The dialects that are on, with the settings each needs, and the ones asked for but off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectSettings {
    /// The native `/password-reset/*` routes answer.
    pub native: bool,
    /// The Stack Auth routes answer, checked against these settings.
    pub stack: Option<StackSettings>,
    /// The ProductFlame route answers, checked against these settings.
    pub productflame: Option<ProductFlameSettings>,
    /// The Supabase-style route answers (it needs `DEFAULT_CALLBACK_URL`: its path is the
    /// reset page every `callback_origin`'s link goes to).
    pub supabase: bool,
    /// The Zitadel v2 routes answer (they need `SERVER_KEY_SHA256`), with these settings.
    pub zitadel: Option<ZitadelSettings>,
    /// Dialects listed (or, in the local API, implied) but off, with why: logged at init.
    pub off: Vec<(Dialect, &'static str)>,
}

impl DialectSettings {
    /// Whether `dialect`'s routes answer.
    pub fn is_on(&self, dialect: Dialect) -> bool {
        match dialect {
            Dialect::Native => self.native,
            Dialect::Stack => self.stack.is_some(),
            Dialect::ProductFlame => self.productflame.is_some(),
            Dialect::Supabase => self.supabase,
            Dialect::Zitadel => self.zitadel.is_some(),
        }
    }

    /// Says, one line each, which dialects were asked for but are off, and why. Called once at
    /// init by the functions and the local API (after its `ready` line, which must come first).
    pub fn log_off(&self) {
        for (dialect, why) in &self.off {
            tracing::warn!(
                dialect = dialect.name(),
                "API_DIALECTS: {} is off: {why}",
                dialect.name()
            );
        }
    }

    /// Lambda: `API_DIALECTS` or `native`. The local API: `API_DIALECTS` or every built dialect,
    /// of which those whose settings exist are on. `edge` and `links` are the sections already
    /// read: ProductFlame's key is the server key, and its mails link to the default callback.
    pub(super) fn read(
        env: &Env<'_>,
        edge: &EdgeSettings,
        links: &LinkSettings,
    ) -> Result<Self, ConfigError> {
        let asked: Vec<Dialect> = match (env.get(API_DIALECTS_VAR), env.profile) {
            (Some(list), _) => parse_list(&list)?,
            (None, Profile::Local { .. }) => vec![
                Dialect::Native,
                Dialect::Stack,
                Dialect::ProductFlame,
                Dialect::Supabase,
                Dialect::Zitadel,
            ],
            (None, Profile::Lambda) => parse_list(&env.text(API_DIALECTS_VAR))?,
        };
        let mut settings = Self {
            native: false,
            stack: None,
            productflame: None,
            supabase: false,
            zitadel: None,
            off: Vec::new(),
        };
        for dialect in asked {
            match dialect {
                Dialect::Native => settings.native = true,
                Dialect::Stack => match stack_settings(env) {
                    Some(stack) => settings.stack = Some(stack),
                    None => settings.off.push((
                        dialect,
                        "STACK_PROJECT_ID and STACK_PUBLISHABLE_CLIENT_KEYS are not both set",
                    )),
                },
                Dialect::ProductFlame => match (edge.server_key_sha256, &links.default_callback) {
                    (Some(server_key_sha256), Some(_)) => {
                        settings.productflame = Some(ProductFlameSettings { server_key_sha256 })
                    }
                    (None, _) => settings.off.push((
                        dialect,
                        "SERVER_KEY_SHA256 is not set (its Authorization is the server key)",
                    )),
                    (Some(_), None) => settings.off.push((
                        dialect,
                        "DEFAULT_CALLBACK_URL is not set (its mails link there: the body names no callback)",
                    )),
                },
                // The local profile always has a default callback (its own reset page).
                Dialect::Supabase => match (env.get("DEFAULT_CALLBACK_URL"), env.profile) {
                    (Some(_), _) | (None, Profile::Local { .. }) => settings.supabase = true,
                    (None, Profile::Lambda) => settings.off.push((
                        dialect,
                        "DEFAULT_CALLBACK_URL is not set (its path is the reset page callback_origin's links go to)",
                    )),
                },
                Dialect::Zitadel => match env.get("SERVER_KEY_SHA256") {
                    Some(_) => settings.zitadel = Some(zitadel_settings(env)?),
                    None => settings.off.push((
                        dialect,
                        "SERVER_KEY_SHA256 is not set (its routes take the server key as bearer)",
                    )),
                },
            }
        }
        Ok(settings)
    }
}

/// A comma list of dialect names; blanks are skipped, duplicates count once.
fn parse_list(list: &str) -> Result<Vec<Dialect>, ConfigError> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let dialect = Dialect::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
            let shown: String = name.chars().take(32).collect();
            ConfigError::new(
                API_DIALECTS_VAR,
                format!(
                    "unknown dialect {shown:?}: expected a comma list of native, stack, productflame, supabase, zitadel"
                ),
            )
        })?;
        if !out.contains(&dialect) {
            out.push(dialect);
        }
    }
    Ok(out)
}

/// `ZITADEL_ORG_ID`, if set: letters, digits, `-`, `_`, `.` only, so it goes into a link as
/// it is and cannot move the link off its origin.
fn zitadel_settings(env: &Env<'_>) -> Result<ZitadelSettings, ConfigError> {
    let org_id = env.get("ZITADEL_ORG_ID");
    if let Some(id) = &org_id
        && (id.chars().count() > MAX_ORG_ID_CHARS
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        return Err(ConfigError::new(
            "ZITADEL_ORG_ID",
            format!("must be at most {MAX_ORG_ID_CHARS} letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(ZitadelSettings { org_id })
}

fn stack_settings(env: &Env<'_>) -> Option<StackSettings> {
    let project_id = env.get("STACK_PROJECT_ID")?;
    let keys: Vec<[u8; 32]> = env
        .get("STACK_PUBLISHABLE_CLIENT_KEYS")?
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| Sha256::digest(k.as_bytes()).into())
        .collect();
    (!keys.is_empty()).then_some(StackSettings {
        project_id,
        publishable_client_keys_sha256: keys,
    })
}
