//! Template files: the built-in set embedded in the binary, reading a folder, and the naming
//! rule `<mail>.<locale>.<part>`.

use std::path::Path;

use super::{MailKind, PARTS, TemplateError};
use crate::domain::Locale;

/// The built-in set, `shared/templates/`: (file name, source). Copy that folder to start a
/// `MAIL_TEMPLATE_DIR` of your own.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "reset.en.subject",
        include_str!("../../../templates/reset.en.subject"),
    ),
    (
        "reset.en.txt",
        include_str!("../../../templates/reset.en.txt"),
    ),
    (
        "reset.en.html",
        include_str!("../../../templates/reset.en.html"),
    ),
    (
        "reset.de.subject",
        include_str!("../../../templates/reset.de.subject"),
    ),
    (
        "reset.de.txt",
        include_str!("../../../templates/reset.de.txt"),
    ),
    (
        "reset.de.html",
        include_str!("../../../templates/reset.de.html"),
    ),
    (
        "reset.fr.subject",
        include_str!("../../../templates/reset.fr.subject"),
    ),
    (
        "reset.fr.txt",
        include_str!("../../../templates/reset.fr.txt"),
    ),
    (
        "reset.fr.html",
        include_str!("../../../templates/reset.fr.html"),
    ),
    (
        "changed.en.subject",
        include_str!("../../../templates/changed.en.subject"),
    ),
    (
        "changed.en.txt",
        include_str!("../../../templates/changed.en.txt"),
    ),
    (
        "changed.en.html",
        include_str!("../../../templates/changed.en.html"),
    ),
    (
        "changed.de.subject",
        include_str!("../../../templates/changed.de.subject"),
    ),
    (
        "changed.de.txt",
        include_str!("../../../templates/changed.de.txt"),
    ),
    (
        "changed.de.html",
        include_str!("../../../templates/changed.de.html"),
    ),
    (
        "changed.fr.subject",
        include_str!("../../../templates/changed.fr.subject"),
    ),
    (
        "changed.fr.txt",
        include_str!("../../../templates/changed.fr.txt"),
    ),
    (
        "changed.fr.html",
        include_str!("../../../templates/changed.fr.html"),
    ),
];

/// Why a file that looks like a template is refused.
pub(super) const NAMING: &str = "not a mail template name: expected reset.<locale>.<part> or \
     changed.<locale>.<part>, <locale> a language tag (en, pt-BR), <part> subject, txt or html";

/// A template file larger than this is refused (a mail is a few kilobytes).
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// A template file's name, taken apart.
pub(super) struct Name {
    pub(super) kind: MailKind,
    pub(super) locale: String,
    pub(super) part: &'static str,
}

/// `reset.pt-BR.html` -> (reset, `pt-BR`, html); `None` for any other shape.
pub(super) fn parse_name(name: &str) -> Option<Name> {
    let (kind, rest) = name.split_once('.')?;
    let (locale, part) = rest.rsplit_once('.')?;
    Some(Name {
        kind: MailKind::parse(kind)?,
        locale: Locale::is_well_formed(locale).then(|| locale.to_owned())?,
        part: PARTS.into_iter().find(|p| *p == part)?,
    })
}

/// The template files in `dir`: (file name, path, source). Files whose extension is not a
/// part's (a README, an image) and hidden files are left alone; a `.subject`, `.txt` or
/// `.html` file must be named like a template, so a typo stops init instead of being ignored.
pub(super) fn read_dir(dir: &Path) -> Result<Vec<(String, String, String)>, TemplateError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| TemplateError::new(dir.display(), format!("cannot read the folder: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            TemplateError::new(dir.display(), format!("cannot read the folder: {e}"))
        })?;
        let path = entry.path();
        let shown = path.display().to_string();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let extension = name.rsplit_once('.').map_or("", |(_, ext)| ext);
        if name.starts_with('.') || !PARTS.contains(&extension) {
            continue;
        }
        if parse_name(&name).is_none() {
            return Err(TemplateError::new(shown, NAMING));
        }
        let meta = std::fs::metadata(&path)
            .map_err(|e| TemplateError::new(&shown, format!("cannot read: {e}")))?;
        if !meta.is_file() {
            return Err(TemplateError::new(shown, "not a file"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(TemplateError::new(shown, "larger than 256 KiB"));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| TemplateError::new(&shown, format!("cannot read: {e}")))?;
        let source =
            String::from_utf8(bytes).map_err(|_| TemplateError::new(&shown, "not UTF-8 text"))?;
        files.push((name, shown, source));
    }
    files.sort();
    Ok(files)
}
