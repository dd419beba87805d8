//! A folder of mail templates for a test (`MAIL_TEMPLATE_DIR`): the built-in set plus a
//! Spanish locale the built-in set lacks, removed when dropped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use shared::mail::templates::BUILT_IN;

/// The Spanish files: (file name, source).
pub const SPANISH: &[(&str, &str)] = &[
    (
        "reset.es.subject",
        "Restablece tu contraseña de {{ app_name }}\n",
    ),
    (
        "reset.es.txt",
        "Alguien pidió restablecer la contraseña de tu cuenta de {{ app_name }}.\n\n\
         Elige una contraseña nueva:\n{{ link }}\n\n\
         Este enlace funciona una vez y caduca en {{ minutes }} minutos.\n",
    ),
    (
        "reset.es.html",
        "<!doctype html>\n<html lang=\"{{ locale }}\"><body>\n\
         <p>Alguien pidió restablecer la contraseña de tu cuenta de {{ app_name }}.</p>\n\
         <p><a href=\"{{ link }}\">Elige una contraseña nueva</a></p>\n\
         <p>Caduca en {{ minutes }} minutos.</p>\n</body></html>\n",
    ),
    (
        "changed.es.subject",
        "Tu contraseña de {{ app_name }} ha cambiado\n",
    ),
    (
        "changed.es.txt",
        "La contraseña de tu cuenta de {{ app_name }} cambió el {{ changed_at }}.\n",
    ),
    (
        "changed.es.html",
        "<p lang=\"{{ locale }}\">La contraseña de tu cuenta de {{ app_name }} cambió el \
         {{ changed_at }}.</p>\n",
    ),
];

/// A template folder on disk, deleted when dropped.
pub struct TemplateDir(PathBuf);

impl TemplateDir {
    /// The built-in set and [`SPANISH`].
    pub fn with_spanish() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "integration-mail-templates-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        for (name, source) in BUILT_IN.iter().chain(SPANISH) {
            std::fs::write(dir.join(name), source).expect("a template file");
        }
        Self(dir)
    }

    /// The folder, as `MAIL_TEMPLATE_DIR` takes it.
    pub fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TemplateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
