//! Where an export is written: a hidden folder beside the destination, renamed to it once
//! everything is there, so the destination either holds a whole export or does not exist. An
//! existing destination is never written into: only an empty folder may stand there (it is
//! replaced). An export that fails or is dropped removes its folder.

use std::path::{Path, PathBuf};

use super::ExportError;

#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
    done: bool,
}

impl Staging {
    /// Checks `out` and makes the folder the export is written into.
    pub fn begin(out: &Path) -> Result<Staging, ExportError> {
        match std::fs::symlink_metadata(out) {
            Ok(meta) if !meta.is_dir() => return Err(ExportError::OutExists(out.to_owned())),
            Ok(_) => {
                if std::fs::read_dir(out).map_err(|e| io(out, e))?.next().is_some() {
                    return Err(ExportError::OutExists(out.to_owned()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(out, e)),
        }
        let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| ExportError::OutName(out.to_owned()))?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(ExportError::OutParent(parent));
        }
        let dir = parent.join(format!(".{name}.incomplete-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).map_err(|e| io(&dir, e))?;
        Ok(Staging { dir, out: out.to_owned(), done: false })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Moves the export to its destination.
    pub fn finish(mut self) -> Result<PathBuf, ExportError> {
        if self.out.is_dir() {
            // Only an empty folder can be here (checked at the start); a file put there since
            // makes the rename fail, and nothing is overwritten.
            std::fs::remove_dir(&self.out).map_err(|_| ExportError::OutExists(self.out.clone()))?;
        }
        std::fs::rename(&self.dir, &self.out).map_err(|e| io(&self.out, e))?;
        self.done = true;
        Ok(self.out.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub(super) fn io(path: &Path, source: std::io::Error) -> ExportError {
    ExportError::Io { path: path.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("elysium-staging-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).expect("scratch");
        dir
    }

    #[test]
    fn a_finished_export_replaces_nothing_but_an_empty_folder() {
        let root = scratch();
        let out = root.join("export");
        let staging = Staging::begin(&out).expect("begin");
        std::fs::write(staging.path().join("a.csv"), "x").expect("write");
        assert!(!out.exists(), "nothing at the destination until it is finished");
        staging.finish().expect("finish");
        assert!(out.join("a.csv").is_file());
        // Not empty now: a second export there is refused.
        assert!(matches!(Staging::begin(&out), Err(ExportError::OutExists(_))));
        // An empty folder is fine.
        let empty = root.join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        Staging::begin(&empty).expect("begin").finish().expect("finish");
        // A file is refused.
        let file = root.join("file");
        std::fs::write(&file, "x").expect("write");
        assert!(matches!(Staging::begin(&file), Err(ExportError::OutExists(_))));
        std::fs::remove_dir_all(&root).expect("clean up");
    }

    #[test]
    fn an_unfinished_export_leaves_nothing() {
        let root = scratch();
        let staging = Staging::begin(&root.join("export")).expect("begin");
        std::fs::write(staging.path().join("a.csv"), "x").expect("write");
        drop(staging);
        assert_eq!(std::fs::read_dir(&root).expect("list").count(), 0);
        assert!(matches!(Staging::begin(&root.join("missing/export")), Err(ExportError::OutParent(_))));
        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
