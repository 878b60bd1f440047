//! The fonts a report may use: Typst's bundled ones, and the CJK fonts found on the system.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use typst::foundations::Bytes;
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;

/// Where the CJK fonts of Debian's packages are installed (`fonts-wqy-microhei`,
/// `fonts-wqy-zenhei`, `fonts-noto-cjk`). `ELYSIUM_FONT_DIRS` (a `:`-separated list) replaces it.
pub const FONT_DIRS: &[&str] =
    &["/usr/share/fonts/truetype/wqy", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto-cjk"];

/// The fonts of every report, loaded once per process.
pub(crate) struct Fonts {
    pub book: LazyHash<FontBook>,
    pub fonts: Vec<Font>,
    /// Whether some font covers Chinese (tested on 中 and 王).
    pub has_cjk: bool,
}

pub(crate) fn loaded() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let dirs: Vec<PathBuf> = match std::env::var_os("ELYSIUM_FONT_DIRS") {
            Some(list) => std::env::split_paths(&list).collect(),
            None => FONT_DIRS.iter().map(PathBuf::from).collect(),
        };
        let mut fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        for dir in &dirs {
            for file in font_files(dir) {
                if let Ok(data) = std::fs::read(&file) {
                    fonts.extend(Font::iter(Bytes::new(data)));
                }
            }
        }
        let has_cjk =
            fonts.iter().any(|f| f.info().coverage.contains('中' as u32) && f.info().coverage.contains('王' as u32));
        Fonts { book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts, has_cjk }
    })
}

impl Fonts {
    /// Whether some font has a glyph for `c` (Typst falls back to any font of the book that has).
    pub fn covers(&self, c: char) -> bool {
        self.fonts.iter().any(|font| font.info().coverage.contains(c as u32))
    }
}

/// The font files directly in `dir` and one level below (Debian's layout), in name order so that
/// the font list, and with it the PDF, is the same on every run.
fn font_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Ok(inner) = std::fs::read_dir(&path) {
                files.extend(inner.flatten().map(|e| e.path()).filter(|p| is_font(p)));
            }
        } else if is_font(&path) {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn is_font(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "ttf" | "ttc" | "otf" | "otc"))
}

/// CJK ideographs, their punctuation and full-width forms: the characters that Typst's bundled
/// fonts do not have.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F // CJK symbols and punctuation
        | 0x3400..=0x4DBF // extension A
        | 0x4E00..=0x9FFF // unified ideographs
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xFF00..=0xFFEF // half- and full-width forms
        | 0x20000..=0x2FA1F) // extensions B to F and compatibility supplement
}
